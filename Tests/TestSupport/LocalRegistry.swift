import Foundation

/// Debian's docker-registry (distribution 2.8) on 127.0.0.1 with filesystem storage in a temp dir,
/// optionally behind htpasswd Basic auth. `stop()` ends it; so does releasing it.
public final class LocalRegistry: @unchecked Sendable {
    public let port: Int
    /// `127.0.0.1:PORT`
    public let host: String
    public let directory: TemporaryDirectory
    /// Where the registry keeps blobs and repositories.
    public var storageDirectory: URL { directory.appending("storage") }
    private let process: Process
    private let lock = NSLock()
    private var stopped = false

    private init(port: Int, directory: TemporaryDirectory, process: Process) {
        self.port = port
        self.host = "127.0.0.1:\(port)"
        self.directory = directory
        self.process = process
    }

    public static func start(htpasswd: (user: String, password: String)? = nil) async throws -> LocalRegistry {
        let directory = try TemporaryDirectory(prefix: "imagekit-registry")
        try FileManager.default.createDirectory(at: directory.appending("storage"), withIntermediateDirectories: true)
        var lastError = "no attempt"
        for _ in 0..<5 {
            let port = try freeTCPPort()
            var config = """
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: \(directory.appending("storage").path)
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:\(port)

                """
            if let htpasswd {
                let line = try run("/usr/bin/htpasswd", ["-Bbn", htpasswd.user, htpasswd.password]).checked().stdoutData
                let file = directory.appending("htpasswd")
                try line.write(to: file)
                config += """
                    auth:
                      htpasswd:
                        realm: imagekit-test
                        path: \(file.path)

                    """
            }
            let configFile = directory.appending("config.yml")
            try Data(config.utf8).write(to: configFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
            process.arguments = ["serve", configFile.path]
            let log = directory.appending("registry.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let handle = try FileHandle(forWritingTo: log)
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let registry = LocalRegistry(port: port, directory: directory, process: process)
            for _ in 0..<200 {
                if isListening(port: port) { return registry }
                if !process.isRunning { break }
                try await Task.sleep(nanoseconds: 25_000_000)
            }
            registry.stopProcess()
            lastError = (try? String(contentsOf: log, encoding: .utf8)) ?? "no log"
        }
        throw TestSupportError("docker-registry did not start: \(lastError)")
    }

    /// Runs `body` with a fresh registry and stops it afterwards, also when `body` throws.
    public static func with<T>(
        htpasswd: (user: String, password: String)? = nil, _ body: (LocalRegistry) async throws -> T
    ) async throws -> T {
        let registry = try await start(htpasswd: htpasswd)
        defer { registry.stop() }
        return try await body(registry)
    }

    private func stopProcess() {
        lock.lock()
        defer { lock.unlock() }
        guard !stopped else { return }
        stopped = true
        TestSupport.stopProcess(process)
    }

    public func stop() {
        stopProcess()
        directory.remove()
    }

    /// The registry's log (warnings and errors).
    public var log: String { (try? String(contentsOf: directory.appending("registry.log"), encoding: .utf8)) ?? "" }

    deinit { stop() }
}
