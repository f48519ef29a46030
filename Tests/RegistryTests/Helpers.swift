import Foundation
import OCI
import Registry
import Store
import TestSupport

enum Paths {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
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
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try content.write(to: url)
        }
        let tar = scratch.appending("layer.tar")
        try run(
            "/usr/bin/tar",
            [
                "--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", tar.path, "-C",
                tree.path, ".",
            ]
        ).checked()
        let (diffID, tarSize) = try ImageStore.hashFile(tar)
        try run("/usr/bin/gzip", ["-n", tar.path]).checked()
        let gz = scratch.appending("layer.tar.gz")
        let ingest = store.newIngestURL()
        try FileManager.default.copyItem(at: gz, to: ingest)
        let committed = try await store.commitVerifying(
            ingest, expected: try ImageStore.hashFile(gz).digest, source: gz.path)
        try await store.recordLayerInfo(LayerInfo(diffID: diffID, uncompressedSize: tarSize), for: committed.digest)
        return (
            Descriptor(mediaType: MediaType.dockerLayerGzip, digest: committed.digest, size: committed.size), diffID
        )
    }

    static func randomData(_ count: Int) -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    /// An image of `layers` layers, each with a text file and `layerBytes` random bytes, tagged `tag`.
    static func make(
        in store: ImageStore, tag: String, layers: Int = 3, layerBytes: Int = 64 * 1024,
        architecture: String = "amd64", format: ImageFormat = .docker
    ) async throws -> StoredImage {
        var config = ImageConfig(architecture: architecture, os: "linux", created: "2000-01-01T00:00:00Z")
        config.config.cmd = ["/bin/app"]
        var descriptors: [Descriptor] = []
        for index in 0..<layers {
            let (descriptor, diffID) = try await layer(
                [
                    "layer\(index)/hello.txt": Data("layer \(index) of \(tag) \(UUID())\n".utf8),
                    "layer\(index)/random.bin": randomData(layerBytes),
                ], in: store)
            descriptors.append(descriptor)
            config.appendLayer(diffID: diffID, createdBy: "test layer \(index)", created: "2000-01-01T00:00:00Z")
        }
        return try await store.commitImage(
            config: config, layers: descriptors, format: format, tags: [try ImageReference(parsing: tag)])
    }
}

/// A client for tests: quick retries so fault tests stay short.
/// Tokens live by `clock`: a clock the test moves by hand (frozen unless moved), so how long a
/// push takes on a busy machine never decides how many tokens it needs.
func testClient(
    credentials: any RegistryCredentialSource = NoCredentials(), attempts: Int = 5, preemptiveBasic: Bool = false,
    insecure: Set<String> = [], clock: ManualClock = ManualClock()
) -> RegistryClient {
    RegistryClient(
        credentials: credentials,
        options: RegistryClientOptions(
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
