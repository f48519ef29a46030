import Foundation

/// moto in server mode answering the AWS APIs (ECR, STS) on a free loopback port; stopped by
/// `stop()` or when the value is released.
public final class MotoServer: @unchecked Sendable {
    public let port: Int
    /// Everything moto wrote, for a failing test's message.
    public let log: URL
    private let process = Process()
    private let directory: TemporaryDirectory
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    public init() throws {
        guard let executable = which("moto_server", extra: ["/root/.pyenv/shims", "/usr/local/bin"]) else {
            throw TestSupportError("moto_server is not on PATH; run scripts/setup.sh")
        }
        directory = try TemporaryDirectory(prefix: "imagekit-moto")
        log = directory.appending("moto.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        port = try freeTCPPort()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        // Generous: a Python server starting on a busy 2-core machine (CI runs many suites at once).
        for _ in 0..<2400 where !isListening(port: port) && process.isRunning { usleep(100_000) }
        guard isListening(port: port) else {
            stop()
            throw TestSupportError("moto_server did not start on port \(port): \(output.suffix(2000))")
        }
    }

    public var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The child inherits the test runner's blocked signal mask, so SIGTERM never reaches it;
    /// SIGKILL cannot be blocked, and moto keeps no state worth a clean shutdown.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    deinit { stop() }

    /// The environment imagekit sees: fake keys, the region, every AWS endpoint at moto.
    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
        ]
    }
}
