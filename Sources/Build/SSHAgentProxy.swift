import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A socket that forwards each connection to an SSH agent, made with the owner and mode a
/// `RUN --mount=type=ssh` asks for (0600 root unless `mode`/`uid`/`gid` say otherwise), as
/// BuildKit proxies the agent: the step never sees the agent's own socket, and a step running as
/// another user can be given access. Lives for one RUN step.
final class SSHAgentProxy: @unchecked Sendable {
    /// The proxy's socket, to bind into the container.
    let socket: URL
    private let directory: URL
    private let listener: Int32
    private let agent: String
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var stopped = false

    init(agent: URL, uid: Int, gid: Int, mode: UInt32) throws(BuildError) {
        // A short private directory: a socket path must fit sockaddr_un (108 bytes).
        var template = Array("/tmp/imagekit-ssh-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw .runFailed(
                reason: "cannot make a directory for the ssh agent proxy: \(String(cString: strerror(errno)))")
        }
        directory = URL(fileURLWithPath: String(cString: made))
        socket = directory.appendingPathComponent("agent.sock")
        self.agent = agent.path
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0, Self.withAddress(socket.path, { bind(fd, $0, $1) }) == 0,
            chown(socket.path, uid_t(uid), gid_t(gid)) == 0, chmod(socket.path, mode_t(mode)) == 0,
            listen(fd, 16) == 0
        else {
            let code = errno
            if fd >= 0 { close(fd) }
            try? FileManager.default.removeItem(at: directory)
            throw .runFailed(reason: "cannot make the ssh agent proxy socket: \(String(cString: strerror(code)))")
        }
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Stops accepting, ends the connections still open and removes the socket.
    func stop() {
        lock.lock()
        stopped = true
        shutdown(listener, Int32(SHUT_RDWR))  // wakes accept() on Linux
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        lock.unlock()
        try? FileManager.default.removeItem(at: directory)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                break
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let upstream = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard upstream >= 0, Self.withAddress(agent, { connect(upstream, $0, $1) }) == 0 else {
                if upstream >= 0 { close(upstream) }
                close(client)
                continue
            }
            lock.lock()
            if stopped {
                lock.unlock()
                close(client)
                close(upstream)
                break
            }
            open.formUnion([client, upstream])
            lock.unlock()
            let finished = Countdown(2) { [self] in
                lock.lock()
                open.subtract([client, upstream])
                lock.unlock()
                close(client)
                close(upstream)
            }
            Thread.detachNewThread {
                Self.pump(from: client, to: upstream); finished.signal()
            }
            Thread.detachNewThread {
                Self.pump(from: upstream, to: client); finished.signal()
            }
        }
        close(listener)
    }

    /// Copies one direction until end of file, then passes the end on.
    private static func pump(from source: Int32, to destination: Int32) {
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        copying: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            var sent = 0
            while sent < count {
                let n = buffer.withUnsafeBytes { write(destination, $0.baseAddress! + sent, count - sent) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break copying }
                sent += n
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }

    private static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            errno = ENAMETOOLONG
            return -1
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}

/// Runs `done` once `signal()` has been called `count` times.
private final class Countdown: @unchecked Sendable {
    private let lock = NSLock()
    private var remaining: Int
    private let done: @Sendable () -> Void

    init(_ count: Int, done: @escaping @Sendable () -> Void) {
        remaining = count
        self.done = done
    }

    func signal() {
        lock.lock()
        remaining -= 1
        let last = remaining == 0
        lock.unlock()
        if last { done() }
    }
}
