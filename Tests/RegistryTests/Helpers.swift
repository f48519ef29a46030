import Foundation
import OCI
import Registry
import Store
import TestSupport

enum Paths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// Collects progress events for assertions.
final class RecordingProgress: ProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [ProgressEvent] = []
    func report(_ event: ProgressEvent) { lock.lock(); _events.append(event); lock.unlock() }
    var events: [ProgressEvent] { lock.lock(); defer { lock.unlock() }; return _events }
    var retries: Int { events.filter { if case .retrying = $0 { return true } else { return false } }.count }
}

/// Small real images made through the store API: gzip layers of tar archives with correct diffIDs.
enum TestImages {
    /// Writes one layer: a tar of `files` (name -> content), gzip -n, committed to the store with its LayerInfo.
    static func layer(_ files: [String: Data], in store: ImageStore) async throws -> (Descriptor, Digest) {
        let scratch = try TemporaryDirectory(prefix: "imagekit-layer")
        let tree = scratch.appending("tree")
        for (name, content) in files {
            let url = tree.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url)
        }
        let tar = scratch.appending("layer.tar")
        try run("/usr/bin/tar", ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", tar.path, "-C", tree.path, "."])
        let (diffID, tarSize) = try ImageStore.hashFile(tar)
        try run("/usr/bin/gzip", ["-n", tar.path])
        let gz = scratch.appending("layer.tar.gz")
        let ingest = store.newIngestURL()
        try FileManager.default.copyItem(at: gz, to: ingest)
        let committed = try await store.commitVerifying(ingest, expected: try ImageStore.hashFile(gz).digest, source: gz.path)
        try await store.recordLayerInfo(LayerInfo(diffID: diffID, uncompressedSize: tarSize), for: committed.digest)
        return (Descriptor(mediaType: MediaType.dockerLayerGzip, digest: committed.digest, size: committed.size), diffID)
    }

    static func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// An image of `layers` layers, each with a text file and `layerBytes` random bytes, tagged `tag`.
    static func make(in store: ImageStore, tag: String, layers: Int = 3, layerBytes: Int = 64 * 1024,
                     architecture: String = "amd64", format: ImageFormat = .docker) async throws -> StoredImage {
        var config = ImageConfig(architecture: architecture, os: "linux", created: "2000-01-01T00:00:00Z")
        config.config.cmd = ["/bin/app"]
        var descriptors: [Descriptor] = []
        for index in 0..<layers {
            let (descriptor, diffID) = try await layer([
                "layer\(index)/hello.txt": Data("layer \(index) of \(tag) \(UUID())\n".utf8),
                "layer\(index)/random.bin": randomData(layerBytes),
            ], in: store)
            descriptors.append(descriptor)
            config.appendLayer(diffID: diffID, createdBy: "test layer \(index)", created: "2000-01-01T00:00:00Z")
        }
        return try await store.commitImage(config: config, layers: descriptors, format: format, tags: [try ImageReference(parsing: tag)])
    }
}

/// The fault-injecting proxy (Fixtures/fault_proxy.py) in front of a registry.
final class FaultProxy: @unchecked Sendable {
    let process: Process
    let port: Int
    var host: String { "127.0.0.1:\(port)" }

    struct LogEntry: Decodable { var method: String; var path: String; var status: Int?; var fault: String?; var auth: String? }
    struct TokenEntry: Decodable { var scopes: [String]; var service: String?; var basic: Bool }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    static func start(upstream: String, bearer: Bool = false, tokenUser: String? = nil, tokenPassword: String? = nil, tokenTTL: Int = 60) throws -> FaultProxy {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        var arguments = [Paths.fixtures.appendingPathComponent("fault_proxy.py").path, "--upstream", upstream, "--token-ttl", String(tokenTTL)]
        if bearer { arguments.append("--bearer") }
        if let tokenUser, let tokenPassword { arguments += ["--token-user", tokenUser, "--token-password", tokenPassword] }
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
        return try run("/usr/bin/curl", arguments, stdin: post).stdout
    }

    /// Rules: ["method": "PUT", "path": "/blobs/uploads/", "action": "reset" | "status", "status": 500, "retry_after": 1, "times": 1]
    func setFaults(_ rules: [[String: Any]], killAfterBlobPuts: Int? = nil) throws {
        var config: [String: Any] = ["rules": rules]
        if let killAfterBlobPuts { config["kill_after_blob_puts"] = killAfterBlobPuts }
        _ = try control("faults", post: try JSONSerialization.data(withJSONObject: config))
    }

    func log() throws -> [LogEntry] { try JSONDecoder().decode([LogEntry].self, from: control("log")) }
    func tokens() throws -> [TokenEntry] { try JSONDecoder().decode([TokenEntry].self, from: control("tokens")) }
    func clear() throws { _ = try control("clear", post: Data("{}".utf8)) }

    func stop() { stopProcess(process) }

    deinit { stop() }
}

/// A client for tests: quick retries so fault tests stay short.
/// Tokens live by `clock`: a clock the test moves by hand (frozen unless moved), so how long a
/// push takes on a busy machine never decides how many tokens it needs.
func testClient(credentials: any RegistryCredentialSource = NoCredentials(), attempts: Int = 5, preemptiveBasic: Bool = false,
                insecure: Set<String> = [], clock: ManualClock = ManualClock()) -> RegistryClient {
    RegistryClient(credentials: credentials, options: RegistryClientOptions(
        insecureRegistries: insecure, preemptiveBasic: preemptiveBasic,
        retry: RetryPolicy(maxAttempts: attempts, baseDelay: 0.05, maxDelay: 0.2, maxRetryAfter: 5),
        clock: { clock.now }))
}

/// A clock that stands still until the test advances it.
final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_700_000_000)
    var now: Date { lock.withLock { current } }
    func advance(by seconds: TimeInterval) { lock.withLock { current.addTimeInterval(seconds) } }
}

/// Runs `body` with a client and shuts the client down afterwards, also on failure.
func withClient<T>(_ client: RegistryClient, _ body: (RegistryClient) async throws -> T) async throws -> T {
    do {
        let result = try await body(client)
        try await client.shutdown()
        return result
    } catch {
        try? await client.shutdown()
        throw error
    }
}
