import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A server program that listens on a port of its choosing and prints it on its first line of
/// output once it listens (reading that line is the wait); killed when the value goes away.
public final class PortServer: @unchecked Sendable {
    private let process = Process()
    /// 0 when the program ended before printing a port.
    public let port: Int

    public init(_ executable: String, _ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("\n") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// A static file server (Python's http.server) for `directory` on 127.0.0.1.
    public static func files(in directory: URL) throws -> PortServer {
        try PortServer(
            "/usr/bin/python3",
            [
                "-c",
                """
                import functools, http.server, sys
                handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
                server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
                print(server.server_address[1], flush=True)
                server.serve_forever()
                """, directory.path,
            ])
    }

    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)/\(path)" }

    // SIGKILL: children of the test runner start with SIGTERM blocked.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
