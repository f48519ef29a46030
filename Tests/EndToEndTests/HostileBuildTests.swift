import Foundation
import TestSupport
import Testing

/// Hostile build inputs: contexts, Dockerfiles and base images crafted to make a root-run build
/// read or write the host. Each case has sentinel files on the host and proves that nothing of
/// them reached an image and nothing was created next to them; refused builds exit 2 with one
/// line naming the Dockerfile line and leave the store as it was.
@Suite(.serialized) struct HostileBuildTests {
    /// A host directory the attacker aims at, holding a secret; `untouched` checks it afterwards.
    struct Sentinel {
        let directory: URL
        let secret = "host-secret-\(UUID().uuidString)"

        init(in scratch: TemporaryDirectory) throws {
            directory = scratch.url.appendingPathComponent("host")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(secret.utf8).write(to: directory.appendingPathComponent("secret.txt"))
        }

        var path: String { directory.path }

        /// Still exactly the one file it was made with.
        func expectUntouched(sourceLocation: SourceLocation = #_sourceLocation) {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            #expect(
                names == ["secret.txt"], "something was created on the host: \(names)", sourceLocation: sourceLocation)
        }

        /// No layer of the image holds the secret.
        func expectAbsent(from store: String, image: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            for layer in try RunTests.manifestLayers(store, image) {
                let found = try run(
                    "/bin/sh", ["-c", "gzip -dc \"$0\" | grep -c -F \"$1\"", RunTests.blob(store, layer), secret])
                #expect(
                    found.trimmed == "0",
                    "the host secret is in layer \(layer)",
                    sourceLocation: sourceLocation)
            }
        }
    }

    /// A store with the base image, already used for a build (its layers unpacked), so that a
    /// refused build can be shown to change nothing in it.
    static func warmStore(_ scratch: TemporaryDirectory) throws -> (store: String, context: URL) {
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": "FROM debian-python:bookworm\nRUN true\n"], in: context)
        let warm = try Imagekit.run(["build", "--progress", "quiet", context.path], store: store)
        try #require(warm.status == 0, "\(warm.stderr)")
        return (store, context)
    }

    static func build(
        _ dockerfile: String, context: URL, store: String, tag: String = "out:1", extra: [String] = []
    ) throws -> ProcessResult {
        try BuildTests.write(["Dockerfile": dockerfile], in: context)
        return try Imagekit.run(["build", "-t", tag, "--progress", "plain"] + extra + [context.path], store: store)
    }

    static func expectRefused(
        _ dockerfile: String, context: URL, store: String, line: Int, mentions: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        try BuildTests.write(["Dockerfile": dockerfile], in: context)
        try BadInputTests.expectCleanFailure(
            ["build", "-t", "refused:1", "--progress", "quiet", context.path], store: store,
            mentions: mentions)
        let result = try Imagekit.run(["build", "--progress", "quiet", context.path], store: store)
        #expect(
            result.stderr.hasPrefix("error: Dockerfile:\(line):"), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    /// An image whose symlinks point at the sentinel's host path: `/data`, `/root/.cache`,
    /// `/run/secrets` and its working directory's parent `/w`.
    static func hostileImage(store: String, scratch: TemporaryDirectory, sentinel: Sentinel) throws {
        let context = scratch.url.appendingPathComponent("hostile-ctx")
        let built = try build(
            """
            FROM debian-python:bookworm
            WORKDIR /w/sub
            RUN cd / && rm -rf /w /root/.cache /run/secrets && ln -s \(sentinel.path) /data && ln -s \(sentinel.path) /w \\
             && ln -s \(sentinel.path) /root/.cache && ln -s \(sentinel.path) /run/secrets
            """, context: context, store: store, tag: "hostile:1")
        try #require(built.status == 0, "\(built.stderr)")
    }

    // MARK: 1. RUN --mount=type=bind sources

    @Test func bindMountSourcesStayInsideTheContextAndStage() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-bind")
        let sentinel = try Sentinel(in: scratch)
        let (store, context) = try Self.warmStore(scratch)
        try BuildTests.write(["sub/file.txt": "inside\n"], in: context)
        try FileManager.default.createSymbolicLink(
            atPath: context.appendingPathComponent("abs").path, withDestinationPath: sentinel.path)
        try FileManager.default.createSymbolicLink(
            atPath: context.appendingPathComponent("up").path, withDestinationPath: "../host")
        try FileManager.default.createSymbolicLink(
            atPath: context.appendingPathComponent("inner").path, withDestinationPath: "sub")

        try Self.expectRefused(
            "FROM debian-python:bookworm\nRUN --mount=type=bind,source=../host,target=/x cat /x/secret.txt\n",
            context: context, store: store, line: 2, mentions: "leaves the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\n\nRUN --mount=type=bind,source=abs,target=/x,rw touch /x/pwned\n",
            context: context, store: store, line: 3, mentions: "resolves outside the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nRUN --mount=type=bind,source=up/secret.txt,target=/x cat /x\n",
            context: context, store: store, line: 2, mentions: "resolves outside the build context")
        sentinel.expectUntouched()

        // Inside the context a link is followed; `rw` writes land in a discarded overlay, as in BuildKit.
        let fine = try Self.build(
            """
            FROM debian-python:bookworm
            RUN --mount=type=bind,source=inner,target=/x,rw cp /x/file.txt /copied && echo new > /x/new.txt && test -f /x/new.txt
            """, context: context, store: store)
        try #require(fine.status == 0, "\(fine.stderr)")
        #expect(!FileManager.default.fileExists(atPath: context.appendingPathComponent("sub/new.txt").path))
        #expect(RunTests.mounts(under: store).isEmpty, "\(RunTests.mounts(under: store))")

        // A stage's absolute symlink is read from the stage's root, never the host's.
        try Self.hostileImage(store: store, scratch: scratch, sentinel: sentinel)
        try Self.expectRefused(
            """
            FROM hostile:1 AS h
            FROM debian-python:bookworm
            RUN --mount=type=bind,from=h,source=/data/secret.txt,target=/x cat /x
            """, context: context, store: store, line: 3, mentions: "does not exist in the stage h")
        sentinel.expectUntouched()
    }

    // MARK: 2. COPY and ADD sources

    @Test func copyNeverFollowsSymlinksOutOfItsRoot() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-copy")
        let sentinel = try Sentinel(in: scratch)
        let (store, context) = try Self.warmStore(scratch)
        let fm = FileManager.default
        try fm.createSymbolicLink(
            atPath: context.appendingPathComponent("s").path, withDestinationPath: sentinel.path + "/secret.txt")
        try fm.createSymbolicLink(atPath: context.appendingPathComponent("d").path, withDestinationPath: sentinel.path)
        try fm.createSymbolicLink(
            atPath: context.appendingPathComponent("rel").path, withDestinationPath: "../host/secret.txt")

        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY s /s\n", context: context, store: store, line: 2,
            mentions: "resolves outside the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY d/ /d/\n", context: context, store: store, line: 2,
            mentions: "resolves outside the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY d/secret.txt /x\n", context: context, store: store, line: 2,
            mentions: "resolves outside the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nADD rel /x\n", context: context, store: store, line: 2,
            mentions: "resolves outside the build context")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY ../host/secret.txt /x\n", context: context, store: store, line: 2,
            mentions: "outside the build context")
        // An archive whose entries climb out of the destination is refused, not extracted or re-packed.
        let tar = try run(
            "/usr/bin/python3",
            [
                "-c",
                """
                import io, sys, tarfile
                with tarfile.open(sys.argv[1], "w") as t:
                    entry = tarfile.TarInfo("../../../../../../../../\(sentinel.path.dropFirst())/pwned"); entry.size = 1
                    t.addfile(entry, io.BytesIO(b"x"))
                """, context.appendingPathComponent("evil.tar").path,
            ])
        try #require(tar.status == 0, "\(tar.stderr)")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nADD evil.tar /x/\n", context: context, store: store, line: 2,
            mentions: "ADD evil.tar: refusing")

        // Copied as a directory, the links are links, as Docker copies them: no host content.
        let whole = try Self.build(
            "FROM debian-python:bookworm\nCOPY . /ctx/\n", context: context, store: store, tag: "whole:1")
        try #require(whole.status == 0, "\(whole.stderr)")
        try sentinel.expectAbsent(from: store, image: "whole:1")
        let unpacked = try BuildTests.unpack(store, "whole:1", scratch: scratch)
        #expect(
            (try? fm.destinationOfSymbolicLink(atPath: unpacked.url("ctx/s").path)) == sentinel.path
                + "/secret.txt")
        #expect(
            (try? fm.destinationOfSymbolicLink(atPath: unpacked.url("ctx/d").path)) == sentinel.path)

        // COPY --from an image reads its symlinks inside the image: /data -> the host path is missing there.
        try Self.hostileImage(store: store, scratch: scratch, sentinel: sentinel)
        let warm = try Self.build(
            "FROM debian-python:bookworm\nCOPY --from=hostile:1 /etc/hostname /warm\n", context: context, store: store)
        try #require(warm.status == 0, "\(warm.stderr)")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY --from=hostile:1 /data/secret.txt /x\n", context: context, store: store,
            line: 2, mentions: "not found")
        try Self.expectRefused(
            "FROM debian-python:bookworm\nCOPY --from=hostile:1 /data /x/\n", context: context, store: store,
            line: 2, mentions: "not found")
        sentinel.expectUntouched()
    }

    // MARK: 4. The RUN sandbox

    /// `RUN --security=insecure` runs only when the build allows it (`--allow security.insecure`,
    /// BuildKit's entitlement); the steps around it keep the sandbox.
    @Test func insecureStepsNeedTheEntitlement() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-insecure")
        let (store, context) = try Self.warmStore(scratch)
        let status = #"python3 -c "s = dict(l.split(':', 1) for l in open('/proc/self/status')); print('"#
        let dockerfile = """
            FROM debian-python:bookworm
            RUN --security=insecure \(status)insecure', s['Seccomp'].strip(), s['NoNewPrivs'].strip(), s['CapEff'].strip())"
            RUN \(status)sandbox', s['Seccomp'].strip(), s['NoNewPrivs'].strip(), s['CapEff'].strip())"
            """
        try Self.expectRefused(
            dockerfile, context: context, store: store, line: 2, mentions: "--allow security.insecure")
        let built = try Self.build(dockerfile, context: context, store: store, extra: ["--allow", "security.insecure"])
        try #require(built.status == 0, "\(built.stderr)")
        func fields(_ name: String) -> [String] {
            let line = built.stderr.split(separator: "\n").first { $0.contains("| \(name) ") }
            return line.map { $0[$0.range(of: "| ")!.upperBound...].split(separator: " ").map(String.init) } ?? []
        }
        let insecure = fields("insecure"), sandbox = fields("sandbox")
        try #require(insecure.count == 4 && sandbox.count == 4, "\(built.stderr)")
        #expect(insecure[1] == "0" && insecure[2] == "0", "no seccomp filter, no no_new_privs: \(insecure)")
        let capEff = UInt64(insecure[3], radix: 16) ?? 0
        #expect(capEff & (1 << 21) != 0 && capEff & (1 << 13) != 0, "CAP_SYS_ADMIN and CAP_NET_RAW: \(insecure)")
        #expect(sandbox[1] == "2" && sandbox[2] == "1", "the next step is sandboxed again: \(sandbox)")
        #expect((UInt64(sandbox[3], radix: 16) ?? 0) & (1 << 21) == 0)

        let unknown = try Imagekit.run(["build", "--allow", "device", context.path], store: store)
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown entitlement"), "\(unknown.stderr)")
    }

    @Test func runStepsGetDockersDefaultSandbox() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-sandbox")
        let (store, context) = try Self.warmStore(scratch)
        let probe = """
            import socket
            status = dict(line.split(":", 1) for line in open("/proc/self/status"))
            print("seccomp", status["Seccomp"].strip(), "nnp", status["NoNewPrivs"].strip(), "capeff", status["CapEff"].strip())
            try:
                socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
                print("raw socket opened")
            except PermissionError as e:
                print("raw socket refused:", e.strerror)
            # Masked: /dev/null is bound over it (the host's lists the host's timers).
            print("timer_list bytes", len(open("/proc/timer_list", "rb").read()))
            try:
                open("/proc/sys/kernel/hostname", "w").write("x")
            except OSError as e:
                print("proc/sys write refused:", e.strerror)
            """
        try BuildTests.write(["probe.py": probe], in: context)
        let built = try Self.build(
            """
            FROM debian-python:bookworm
            COPY probe.py /probe.py
            RUN python3 /probe.py
            RUN --network=none python3 -c "import socket; socket.create_connection(('192.0.2.1', 80), timeout=5)" 2>&1 | tail -1; \\
                echo "routes: $(tail -n +2 /proc/net/route | wc -l)"
            """, context: context, store: store)
        try #require(built.status == 0, "\(built.stderr)")
        let output = built.stderr
        let line = output.split(separator: "\n").first { $0.contains("| seccomp ") }
        let fields = line.map { $0[$0.range(of: "| ")!.upperBound...].split(separator: " ").map(String.init) } ?? []
        #expect(fields.count == 6, "\(output)")
        if fields.count == 6 {
            #expect(fields[1] == "2", "Seccomp is not in filter mode: \(fields)")
            #expect(fields[3] == "1", "no_new_privs is not set: \(fields)")
            let capEff = UInt64(fields[5], radix: 16) ?? 0
            #expect(capEff != 0, "root in a RUN step keeps Docker's capabilities")
            #expect(capEff & (1 << 13) == 0, "CAP_NET_RAW is effective: \(fields[5])")
            #expect(capEff & (1 << 21) == 0, "CAP_SYS_ADMIN is effective: \(fields[5])")
        }
        #expect(output.contains("| raw socket refused: Operation not permitted"), "\(output)")
        #expect(output.contains("| timer_list bytes 0"), "\(output)")
        #expect(output.contains("| proc/sys write refused: Read-only file system"), "\(output)")
        #expect(output.contains("| OSError: [Errno 101] Network is unreachable"), "\(output)")
        #expect(output.contains("| routes: 0"), "\(output)")

        // `imagekit build --network none` takes the network from every RUN step.
        let offline = try Self.build(
            """
            FROM debian-python:bookworm
            RUN echo "routes: $(tail -n +2 /proc/net/route | wc -l)"
            """, context: context, store: store, extra: ["--network", "none"])
        try #require(offline.status == 0, "\(offline.stderr)")
        #expect(offline.stderr.contains("| routes: 0"), "\(offline.stderr)")
        let online = try Self.build(
            """
            FROM debian-python:bookworm
            RUN echo "routes: $(tail -n +2 /proc/net/route | wc -l)"
            """, context: context, store: store)
        try #require(online.status == 0, "\(online.stderr)")
        #expect(!online.stderr.contains("| routes: 0"), "the default network is the host's: \(online.stderr)")
    }

    // MARK: 5. Mount points and the working directory in a hostile image

    @Test func mountPointsAreMadeInsideTheRootfs() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-mountpoint")
        let sentinel = try Sentinel(in: scratch)
        let (store, context) = try Self.warmStore(scratch)
        try Self.hostileImage(store: store, scratch: scratch, sentinel: sentinel)
        let secretFile = scratch.url.appendingPathComponent("token.txt")
        try Data("token".utf8).write(to: secretFile)
        // /root/.cache, /run/secrets and the working directory's parent /w all point at the host path.
        let built = try Self.build(
            """
            FROM hostile:1
            RUN --mount=type=cache,target=/root/.cache/pip --mount=type=secret,id=tok \\
                test -d /root/.cache/pip && test -f /run/secrets/tok && pwd && ls \(sentinel.path)
            """, context: context, store: store, extra: ["--secret", "id=tok,src=\(secretFile.path)"])
        try #require(built.status == 0, "\(built.stderr)")
        sentinel.expectUntouched()
        // The working directory /w/sub is /w's target inside the rootfs (getcwd shows the resolved path).
        #expect(built.stderr.contains("| \(sentinel.path)/sub"), "\(built.stderr)")
        // The mount points were made inside the image, under the host path as the image spells it, and left no trace.
        #expect(
            built.stderr.contains("| pip") && built.stderr.contains("| tok") && built.stderr.contains("| sub"),
            "\(built.stderr)")
        let baseLayers = Set(try RunTests.manifestLayers(store, "hostile:1"))
        for layer in try RunTests.manifestLayers(store, "out:1") where !baseLayers.contains(layer) {
            let paths = try RunTests.layerPaths(store, layer)
            #expect(
                !paths.contains { $0.hasSuffix("/pip") || $0.hasSuffix("/tok") },
                "a mount point reached a layer: \(paths)")
        }
        #expect(RunTests.mounts(under: store).isEmpty, "\(RunTests.mounts(under: store))")
    }
}

extension HostileBuildTests {
    // MARK: 9. Builds killed with SIGKILL

    /// Starts `imagekit build` in the background and returns once its RUN step prints `marker`.
    static func startBuild(_ context: URL, store: String, scratch: TemporaryDirectory, marker: String) throws -> Process
    {
        let stderrURL = URL(fileURLWithPath: scratch.path("stderr-\(UUID().uuidString.prefix(6))"))
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Imagekit.binary)
        process.arguments = ["--store", store, "build", "--progress", "plain", context.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOf: stderrURL, encoding: .utf8), text.contains("| \(marker)") {
                return process
            }
            usleep(100_000)
        }
        kill(process.processIdentifier, SIGKILL)
        throw BuildFailure(
            text: "the RUN did not start: \((try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")")
    }

    struct BuildFailure: Error { let text: String }

    static func workDirectories(_ store: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []).filter {
            $0.hasPrefix("build-") && !$0.hasSuffix(".owner")
        }.sorted()
    }

    @Test func leftoversOfKilledBuildsAreReapedButRunningBuildsAreNot() throws {
        let scratch = try TemporaryDirectory.scratch("hostile-sigkill")
        let (store, _) = try Self.warmStore(scratch)
        var started: [Process] = []
        defer {
            for process in started where process.isRunning { kill(process.processIdentifier, SIGKILL) }
            for id in RunTests.runcContainers(of: store) {
                _ = try? run(tool("runc"), ["--root", "/run/imagekit/runc", "delete", "--force", id])
            }
        }
        func sleeper(_ name: String) throws -> URL {
            let context = scratch.url.appendingPathComponent(name)
            try BuildTests.write(
                ["Dockerfile": "FROM debian-python:bookworm\nRUN echo \(name) sleeping && sleep 600\n"], in: context)
            return context
        }
        func leftovers() -> (containers: Set<String>, directories: [String], mounts: [String]) {
            (RunTests.runcContainers(of: store), Self.workDirectories(store), RunTests.mounts(under: store).sorted())
        }

        // SIGKILL cannot be handled: the container, its mounts and the work directory stay behind.
        let killed = try Self.startBuild(
            try sleeper("killed"), store: store, scratch: scratch, marker: "killed sleeping")
        started.append(killed)
        kill(killed.processIdentifier, SIGKILL)
        killed.waitUntilExit()
        let first = leftovers()
        #expect(first.containers.count == 1 && first.directories.count == 1 && !first.mounts.isEmpty, "\(first)")

        // The next build reaps them before it starts.
        let running = try Self.startBuild(
            try sleeper("running"), store: store, scratch: scratch, marker: "running sleeping")
        started.append(running)
        let second = leftovers()
        #expect(second.containers.count == 1 && second.containers.isDisjoint(with: first.containers), "\(second)")
        #expect(second.directories.count == 1 && second.directories != first.directories, "\(second)")
        #expect(
            !second.mounts.isEmpty
                && second.mounts.allSatisfy { $0.hasPrefix(store + "/tmp/" + second.directories[0]) }, "\(second)")

        // A build beside a running one leaves the running one alone.
        let beside = scratch.url.appendingPathComponent("beside")
        try BuildTests.write(["Dockerfile": "FROM debian-python:bookworm\nRUN echo beside > /beside\n"], in: beside)
        let besideBuild = try Imagekit.run(["build", "--progress", "quiet", beside.path], store: store)
        #expect(besideBuild.status == 0, "\(besideBuild.stderr)")
        let third = leftovers()
        #expect(
            third.containers == second.containers && third.directories == second.directories
                && third.mounts == second.mounts, "\(third)")
        #expect(running.isRunning)

        // Killed too: `imagekit prune` reaps it.
        kill(running.processIdentifier, SIGKILL)
        running.waitUntilExit()
        let pruned = try Imagekit.run(["prune"], store: store)
        #expect(pruned.status == 0, "\(pruned.stderr)")
        #expect(pruned.stderr.contains("reaped killed builds: 1 containers"), "\(pruned.stderr)")
        let last = leftovers()
        #expect(last.containers.isEmpty && last.directories.isEmpty && last.mounts.isEmpty, "\(last)")
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []).filter {
                $0.hasSuffix(".owner")
            }.isEmpty)
    }
}
