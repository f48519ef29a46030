import Archive
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

/// One RUN step's process, as the runtime should start it.
public struct RunSpec: Sendable {
    public struct Bind: Sendable, Equatable {
        public var source: String
        public var destination: String
        public var readOnly: Bool
        public init(source: String, destination: String, readOnly: Bool) {
            self.source = source
            self.destination = destination
            self.readOnly = readOnly
        }
    }

    public enum Network: Sendable { case host, none }

    /// `RUN --mount=type=tmpfs`: an empty tmpfs for the run only.
    public struct Tmpfs: Sendable, Equatable {
        public var destination: String
        /// Bytes; nil leaves the kernel's default (half of RAM).
        public var size: Int64?
        public init(destination: String, size: Int64?) {
            self.destination = destination
            self.size = size
        }
    }

    public var id: String
    public var rootfs: URL
    public var args: [String]
    public var env: [String]
    public var cwd: String
    public var user: UserDatabase.Identity
    public var binds: [Bind]
    public var network: Network
    public var hostname: String
    public var tmpfs: [Tmpfs] = []
    /// `RUN --security=insecure` (allowed by the build): every capability the kernel has, no
    /// seccomp filter, no_new_privs off, /proc and /sys neither masked nor read-only.
    public var insecure = false

    public init(
        id: String, rootfs: URL, args: [String], env: [String], cwd: String, user: UserDatabase.Identity,
        binds: [Bind] = [], network: Network = .host, hostname: String = "imagekit"
    ) {
        self.id = id
        self.rootfs = rootfs
        self.args = args
        self.env = env
        self.cwd = cwd
        self.user = user
        self.binds = binds
        self.network = network
        self.hostname = hostname
    }

    /// The mount points runc adds; tests and the diff filter need them too.
    public static let systemMountPoints = [
        "proc", "dev", "dev/pts", "dev/shm", "dev/mqueue", "sys", "etc/resolv.conf", "etc/hosts",
    ]
}

public struct RunOutcome: Sendable {
    public var exitCode: Int32
    /// The last lines of combined stdout and stderr, for error messages.
    public var tail: [String]
}

/// Runs a process in a root filesystem with `runc` (Debian's package), writing the OCI runtime
/// config itself, with Docker's default sandbox: seccomp profile, capabilities (without NET_RAW),
/// no_new_privs, masked /proc paths. The default network is the host's (pip needs PyPI and there
/// is no bridge); `none` gets its own namespace with only loopback. /etc/resolv.conf and /etc/hosts
/// are bound read-only.
public struct RuncRunner: Sendable {
    public let runcPath: String
    public let stateRoot: URL

    public init(runcPath: String? = nil, stateRoot: URL = URL(fileURLWithPath: "/run/imagekit/runc")) throws(BuildError)
    {
        let candidates = [
            runcPath, ProcessInfo.processInfo.environment["IMAGEKIT_RUNC"], "/usr/sbin/runc", "/usr/bin/runc",
            "/usr/local/sbin/runc", "/usr/local/bin/runc",
        ]
        guard
            let found = candidates.compactMap({ $0 }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else {
            throw .runtimeMissing(
                "runc is not installed; install it with `apt-get install runc` (scripts/setup.sh does) or set IMAGEKIT_RUNC"
            )
        }
        self.runcPath = found
        self.stateRoot = stateRoot
    }

    /// Docker's default capability set without CAP_NET_RAW: a RUN step in the host's network
    /// namespace must not open raw sockets on the host's interfaces. The list lives with the
    /// seccomp profile (scripts/seccomp-profile.py), whose rules depend on it.
    static let capabilities = SeccompProfile.capabilities

    /// Docker's default seccomp filter, parsed once (generated from Docker's profile, never read from the host).
    nonisolated(unsafe) static let seccomp: Any =
        (try? JSONSerialization.jsonObject(with: Data(SeccompProfile.json.utf8))) ?? [:]

    /// /proc and /sys paths Docker hides (masked) or makes read-only in every container.
    static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]
    static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// Every capability imagekit itself holds (its bounding set, which a container runtime or a
    /// VM may have narrowed), for insecure steps: asking for more makes runc fail.
    static var allCapabilities: [String] {
        let names = [
            "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
            "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
            "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
            "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
            "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
            "CHECKPOINT_RESTORE",
        ]
        let status = KernelFile.read("/proc/self/status") ?? ""
        let bounding =
            status.split(separator: "\n").first { $0.hasPrefix("CapBnd:") }
            .flatMap { UInt64($0.dropFirst("CapBnd:".count).trimmingCharacters(in: .whitespaces), radix: 16) } ?? 0
        return names.indices.filter { bounding & (1 << UInt64($0)) != 0 }.map { "CAP_" + names[$0] }
    }

    public func runtimeConfig(_ spec: RunSpec) -> [String: Any] {
        var mounts: [[String: Any]] = [
            ["destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]],
            [
                "destination": "/dev", "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "strictatime", "mode=755", "size=65536k"],
            ],
            [
                "destination": "/dev/pts", "type": "devpts", "source": "devpts",
                "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
            ],
            [
                "destination": "/dev/shm", "type": "tmpfs", "source": "shm",
                "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ],
            [
                "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
                "options": ["nosuid", "noexec", "nodev"],
            ],
            [
                "destination": "/sys", "type": "sysfs", "source": "sysfs",
                "options": ["nosuid", "noexec", "nodev", spec.insecure ? "rw" : "ro"],
            ],
        ]
        for file in ["/etc/resolv.conf", "/etc/hosts"] where FileManager.default.fileExists(atPath: file) {
            mounts.append([
                "destination": file, "type": "bind", "source": file,
                "options": ["rbind", "ro", "nosuid", "nodev", "noexec"],
            ])
        }
        for bind in spec.binds {
            mounts.append([
                "destination": bind.destination, "type": "bind", "source": bind.source,
                "options": ["rbind", bind.readOnly ? "ro" : "rw", "nosuid", "nodev"],
            ])
        }
        for tmpfs in spec.tmpfs {
            mounts.append([
                "destination": tmpfs.destination, "type": "tmpfs", "source": "tmpfs",
                "options": ["nosuid", "nodev", "mode=1777"] + (tmpfs.size.map { ["size=\($0)"] } ?? []),
            ])
        }
        var namespaces: [[String: String]] = [["type": "pid"], ["type": "ipc"], ["type": "uts"], ["type": "mount"]]
        if spec.network == .none { namespaces.append(["type": "network"]) }
        let capabilities = spec.insecure ? Self.allCapabilities : Self.capabilities
        var linux: [String: Any] = ["namespaces": namespaces]
        if !spec.insecure {
            linux["maskedPaths"] = Self.maskedPaths
            linux["readonlyPaths"] = Self.readonlyPaths
            linux["seccomp"] = Self.seccomp
        }
        return [
            "ociVersion": "1.0.2",
            "process": [
                "terminal": false,
                "user": ["uid": spec.user.uid, "gid": spec.user.gid, "additionalGids": spec.user.additionalGids],
                "args": spec.args,
                "env": spec.env,
                "cwd": spec.cwd.isEmpty ? "/" : spec.cwd,
                "capabilities": [
                    "bounding": capabilities, "effective": capabilities, "permitted": capabilities,
                ],
                "noNewPrivileges": !spec.insecure,
            ] as [String: Any],
            "root": ["path": spec.rootfs.path, "readonly": false],
            "hostname": spec.hostname,
            "mounts": mounts,
            "linux": linux,
        ]
    }

    /// Runs the process to completion, streaming each output line to `output`. Blocks the calling
    /// thread until the container exits; `control.cancel()` from another thread kills it.
    public func run(
        _ spec: RunSpec, bundle: URL, output: @escaping @Sendable (String) -> Void, control: RunControl? = nil
    ) throws(BuildError) -> RunOutcome {
        do {
            try FileManager.default.createDirectory(at: bundle, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: stateRoot, withIntermediateDirectories: true)
            let data = try JSONSerialization.data(withJSONObject: runtimeConfig(spec), options: [.sortedKeys])
            try data.write(to: bundle.appendingPathComponent("config.json"))
        } catch {
            throw .runFailed(reason: "cannot write the runtime bundle in \(bundle.path): \(error.localizedDescription)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runcPath)
        process.arguments = ["--root", stateRoot.path, "run", "--bundle", bundle.path, spec.id]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        let collector = OutputCollector(output: output)
        CleanupRegistry.shared.addContainer(id: spec.id, runner: self)
        defer { CleanupRegistry.shared.removeContainer(id: spec.id) }
        if control?.isCancelled == true { throw .runFailed(reason: "cancelled before it started") }
        do { try process.run() } catch {
            throw .runFailed(reason: "cannot start \(runcPath): \(error.localizedDescription)")
        }
        if let control {
            // runc may still be creating the container when the cancel comes: delete it until
            // runc, whose child it is, has exited.
            nonisolated(unsafe) let running = process
            let id = spec.id
            let kill: @Sendable () -> Void = {
                Thread.detachNewThread {
                    while running.isRunning {
                        self.forceDelete(id: id)
                        usleep(100_000)
                    }
                }
            }
            if !control.started(kill) { kill() }
        }
        // The write end belongs to the child now; closing ours lets EOF arrive when it exits.
        try? pipe.fileHandleForWriting.close()
        let reader = pipe.fileHandleForReading
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            collector.append(chunk)
        }
        process.waitUntilExit()
        collector.flush()
        // runc removes the container on exit; make sure nothing is left if it was killed.
        forceDelete(id: spec.id)
        let status =
            process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
        return RunOutcome(exitCode: status, tail: collector.tail)
    }

    /// `runc delete --force`: used after a run and by the interrupt handler.
    public func forceDelete(id: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runcPath)
        process.arguments = ["--root", stateRoot.path, "delete", "--force", id]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try? process.run()
        process.waitUntilExit()
    }

    /// Container ids runc knows about under our state root, with their bundle directories.
    public func listContainerBundles() -> [String: String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runcPath)
        process.arguments = ["--root", stateRoot.path, "list", "--format", "json"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [:] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let list = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
        var bundles: [String: String] = [:]
        for container in list {
            if let id = container["id"] as? String, let bundle = container["bundle"] as? String { bundles[id] = bundle }
        }
        return bundles
    }

    /// Container ids runc still knows about under our state root (tests check this is empty).
    public func listContainers() -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: runcPath)
        process.arguments = ["--root", stateRoot.path, "list", "--quiet"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return [] }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

/// Lets another task stop a run in progress (a build whose other stage failed).
public final class RunControl: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelled = false
    private var kill: (@Sendable () -> Void)?

    public init() {}

    public var isCancelled: Bool { lock.withLock { cancelled } }

    /// Kills the container if it runs, or keeps it from starting.
    public func cancel() {
        let action = lock.withLock { () -> (@Sendable () -> Void)? in
            cancelled = true
            return kill
        }
        action?()
    }

    /// Registers how to kill the started run; false when it was cancelled already (the caller kills it).
    func started(_ kill: @escaping @Sendable () -> Void) -> Bool {
        lock.withLock {
            self.kill = kill
            return !cancelled
        }
    }
}

/// Splits output into lines, forwards them, and keeps the last few for error messages.
final class OutputCollector: @unchecked Sendable {
    private var pending = Data()
    private(set) var tail: [String] = []
    private let output: @Sendable (String) -> Void
    private let keep = 20

    init(output: @escaping @Sendable (String) -> Void) { self.output = output }

    func append(_ data: Data) {
        pending.append(data)
        while let newline = pending.firstIndex(of: 0x0a) {
            emit(pending[pending.startIndex..<newline])
            pending.removeSubrange(pending.startIndex...newline)
        }
    }

    func flush() {
        if !pending.isEmpty { emit(pending[...]) }
        pending.removeAll()
    }

    private func emit(_ bytes: Data.SubSequence) {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        tail.append(line)
        if tail.count > keep { tail.removeFirst(tail.count - keep) }
        output(line)
    }
}
