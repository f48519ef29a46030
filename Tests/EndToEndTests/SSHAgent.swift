import Foundation
import TestSupport
import Testing

/// A real ssh-agent holding one fresh ed25519 key, stopped when the value goes away.
final class SSHAgent {
    let socket: String
    private let process: Process

    init(in scratch: TemporaryDirectory) throws {
        let key = scratch.path("id_ed25519")
        try run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "imagekit-test", "-f", key]).checked()
        // In the foreground (-D) the agent is a child to stop at the end; it prints its variables
        // once the socket listens, so reading them is the wait.
        socket = scratch.path("agent.sock")
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
        process.arguments = ["-D", "-s", "-a", socket]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        var printed = ""
        while !printed.contains("SSH_AUTH_SOCK=") || !printed.contains("\n") {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            printed += String(decoding: chunk, as: UTF8.self)
        }
        guard printed.contains("SSH_AUTH_SOCK=\(socket)") else {
            stopProcess(process)
            throw TestSupportError("ssh-agent did not start: \(printed)")
        }
        try run("/usr/bin/ssh-add", ["-q", key], environment: ["SSH_AUTH_SOCK": socket]).checked()
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A Python program that asks the agent at $SSH_AUTH_SOCK for its identities (REQUEST_IDENTITIES,
    /// 11) by hand and prints the socket path, the answer's type (12) and the number of keys.
    static let probe = """
        import os, socket, struct
        s = socket.socket(socket.AF_UNIX)
        s.connect(os.environ["SSH_AUTH_SOCK"])
        s.sendall(struct.pack(">IB", 1, 11))
        n = struct.unpack(">I", s.recv(4))[0]
        d = b""
        while len(d) < n:
            d += s.recv(n - len(d))
        print(os.environ["SSH_AUTH_SOCK"], d[0], struct.unpack(">I", d[1:5])[0])
        """
}
