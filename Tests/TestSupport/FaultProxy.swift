import Foundation

/// The fault-injecting proxy (Tests/RegistryTests/Fixtures/fault_proxy.py) in front of a registry;
/// its log counts the requests a client made (the registry and end-to-end tests both use it).
public final class FaultProxy: @unchecked Sendable {
    let process: Process
    public let port: Int
    public var host: String { "127.0.0.1:\(port)" }

    public struct LogEntry: Decodable, Sendable {
        public var method: String
        public var path: String
        public var status: Int?
        public var fault: String?
        /// The auth scheme the request carried ("Basic", "Bearer"), nil without credentials.
        public var auth: String?
    }
    public struct TokenEntry: Decodable, Sendable {
        public var scopes: [String]; public var service: String?; public var basic: Bool
    }

    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("RegistryTests/Fixtures/fault_proxy.py")

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    public static func start(
        upstream: String, bearer: Bool = false, tokenUser: String? = nil, tokenPassword: String? = nil,
        tokenTTL: Int = 60
    ) throws -> FaultProxy {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        var arguments = [script.path, "--upstream", upstream, "--token-ttl", String(tokenTTL)]
        if bearer { arguments.append("--bearer") }
        if let tokenUser, let tokenPassword {
            arguments += ["--token-user", tokenUser, "--token-password", tokenPassword]
        }
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        let fd = out.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            process.terminate()
            throw TestSupportError("the fault proxy did not start")
        }
        return FaultProxy(process: process, port: port)
    }

    private func control(_ path: String, post: Data? = nil) throws -> Data {
        var arguments = ["-sf", "http://\(host)/__control/\(path)"]
        if let post { arguments += ["-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@-"] }
        return try run("/usr/bin/curl", arguments, stdin: post).checked().stdoutData
    }

    /// Rules: ["method": "PUT", "path": "/blobs/uploads/", "action": "reset" | "status", "status": 500, "retry_after": 1, "times": 1]
    public func setFaults(_ rules: [[String: Any]], killAfterBlobPuts: Int? = nil) throws {
        var config: [String: Any] = ["rules": rules]
        if let killAfterBlobPuts { config["kill_after_blob_puts"] = killAfterBlobPuts }
        _ = try control("faults", post: try JSONSerialization.data(withJSONObject: config))
    }

    public func log() throws -> [LogEntry] { try JSONDecoder().decode([LogEntry].self, from: control("log")) }
    public func tokens() throws -> [TokenEntry] { try JSONDecoder().decode([TokenEntry].self, from: control("tokens")) }
    public func clear() throws { _ = try control("clear", post: Data("{}".utf8)) }

    public func stop() { stopProcess(process) }

    deinit { stop() }
}
