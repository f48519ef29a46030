import Foundation
import TestSupport
import Testing

/// `imagekit build` with RUN steps, end to end on the Debian base fixture: runc, overlayfs,
/// PyPI through pip, the build cache, failures and interrupts. Images are checked by running
/// them with runc and by unpacking them with umoci.
@Suite(.serialized) struct RunTests {
    // MARK: The dashboard pattern

    /// A builder stage makes a venv with pinned requirements; the runtime stage runs a stdlib
    /// HTTP app with it as uid 1000. APP_PORT picks the port; the answer tells who serves it.
    static let dashboardDockerfile = """
        FROM debian-python:bookworm AS builder
        ENV PYTHONDONTWRITEBYTECODE=1 \\
            PIP_DISABLE_PIP_VERSION_CHECK=1
        RUN python3 -m venv /opt/venv
        COPY requirements.txt /tmp/requirements.txt
        RUN /opt/venv/bin/pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

        FROM debian-python:bookworm AS runtime
        RUN useradd --uid 1000 --user-group --no-log-init --create-home --shell /usr/sbin/nologin app \\
         && install -d -o 1000 -g 1000 -m 0755 /app
        COPY --from=builder /opt/venv /opt/venv
        WORKDIR /app
        ENV PATH=/opt/venv/bin:$PATH \\
            PYTHONUNBUFFERED=1 \\
            APP_PORT=8080
        COPY --chown=1000:1000 app/ /app/
        USER 1000
        EXPOSE 8080
        HEALTHCHECK --interval=10s --timeout=3s CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/' % os.environ['APP_PORT'], timeout=2)"]
        CMD ["/opt/venv/bin/python", "/app/server.py"]
        """

    static let serverPy = """
        import json
        import os
        from http.server import BaseHTTPRequestHandler, HTTPServer
        from importlib.metadata import version

        import itsdangerous

        from greeting import GREETING


        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                token = itsdangerous.URLSafeSerializer("key").dumps({"path": self.path})
                body = json.dumps({
                    "greeting": GREETING,
                    "uid": os.getuid(),
                    "gid": os.getgid(),
                    "itsdangerous": version("itsdangerous"),
                    "token": token,
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)


        HTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler).serve_forever()

        """

    static func dashboardContext(
        in dir: URL, requirements: String = "itsdangerous==2.2.0\n", greeting: String = "hello"
    ) throws {
        try BuildTests.write(
            [
                "Dockerfile": dashboardDockerfile,
                "requirements.txt": requirements,
                "app/server.py": serverPy,
                "app/greeting.py": "GREETING = \(greeting.debugDescription)\n",
                ".dockerignore": "**/__pycache__\n",
            ], in: dir)
    }

    @Test func dashboardImageRunsAsUser1000AndIsReproducible() throws {
        let scratch = try TemporaryDirectory.scratch("run-dashboard")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try Self.dashboardContext(in: context)
        let built = try BuildTests.build(context, tag: "dash:1", store: store, scratch: scratch)
        let digest = built.trimmed
        #expect(built.stderr.contains("Successfully installed itsdangerous-2.2.0"), "\(built.stderr)")

        let config = try BuildTests.config(store, "dash:1", scratch: scratch)
        #expect(config["User"] as? String == "1000")
        #expect(config["WorkingDir"] as? String == "/app")
        let health = config["Healthcheck"] as? [String: Any] ?? [:]
        #expect((health["Test"] as? [String])?.first == "CMD")
        #expect(health["Interval"] as? Int == 10_000_000_000)

        let unpacked = try BuildTests.unpack(store, "dash:1", scratch: scratch)
        #expect(unpacked.owner("app/server.py") == "1000:1000 644")
        #expect(unpacked.owner("opt/venv/bin/python3").hasPrefix("0:0"))
        let passwd = try String(contentsOf: unpacked.url("etc/passwd"), encoding: .utf8)
        #expect(passwd.contains("app:x:1000:1000::/home/app:/usr/sbin/nologin"), "\(passwd)")
        // The builder stage's own files stay there.
        #expect(!unpacked.exists("tmp/requirements.txt"))

        let answer = try Self.serve(bundle: unpacked.bundle, scratch: scratch)
        #expect(answer["uid"] as? Int == 1000, "\(answer)")
        #expect(answer["gid"] as? Int == 1000, "\(answer)")
        #expect(answer["itsdangerous"] as? String == "2.2.0", "\(answer)")
        #expect(answer["greeting"] as? String == "hello", "\(answer)")
        #expect((answer["token"] as? String)?.hasPrefix("eyJwYXRoIjoiL2hlYWx0aCJ9.") == true, "\(answer)")

        // The same inputs in another empty store give the same image, pip download and all.
        let store2 = scratch.path("store2")
        _ = try Fixture.importBase(store: store2)
        let again = try BuildTests.build(context, tag: "dash:1", store: store2, scratch: scratch)
        let digest2 = again.trimmed
        #expect(digest2 == digest, "\(Self.layerDifferences(store, store2, image: "dash:1"))")
    }

    /// Starts the unpacked bundle with runc on the host network, asks its app once it answers,
    /// and always kills and deletes the container.
    static func serve(bundle: URL, scratch: TemporaryDirectory) throws -> [String: Any] {
        let port = try run(
            "/usr/bin/python3",
            ["-c", "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"]
        )
        .trimmed
        let configURL = bundle.appendingPathComponent("config.json")
        var spec = try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any] ?? [:]
        var process = spec["process"] as? [String: Any] ?? [:]
        process["terminal"] = false
        process["env"] =
            ((process["env"] as? [String]) ?? []).filter { !$0.hasPrefix("APP_PORT=") } + ["APP_PORT=\(port)"]
        spec["process"] = process
        var linux = spec["linux"] as? [String: Any] ?? [:]
        linux["namespaces"] = ((linux["namespaces"] as? [[String: Any]]) ?? []).filter {
            $0["type"] as? String != "network"
        }
        spec["linux"] = linux
        try JSONSerialization.data(withJSONObject: spec).write(to: configURL)

        let runc = tool("runc"), state = scratch.path("runc-state")
        let id = "imagekit-test-\(UUID().uuidString.lowercased().prefix(8))"
        let logURL = URL(fileURLWithPath: scratch.path("container.log"))
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        defer {
            _ = try? run(runc, ["--root", state, "kill", id, "KILL"])
            _ = try? run(runc, ["--root", state, "delete", "--force", id])
            try? FileManager.default.removeItem(at: bundle)
        }
        // Detached, the container keeps the log file as its stdout and stderr.
        let started = try run(
            "/bin/sh",
            [
                "-c", "exec \"$0\" --root \"$1\" run -d --bundle \"$2\" \"$3\" >>\"$4\" 2>&1", runc, state, bundle.path,
                id, logURL.path,
            ])
        try #require(
            started.status == 0, "runc run failed: \((try? String(contentsOf: logURL, encoding: .utf8)) ?? "")")
        let poll = """
            import sys, time, urllib.request
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            deadline = time.monotonic() + 60
            while True:
                try:
                    print(opener.open("http://127.0.0.1:%s/health" % sys.argv[1], timeout=3).read().decode())
                    break
                except OSError as error:
                    if time.monotonic() > deadline:
                        sys.exit("no answer within 60 s: %s" % error)
                    time.sleep(0.3)
            """
        let answer = try run("/usr/bin/python3", ["-c", poll, port])
        let log = (try? String(contentsOf: logURL, encoding: .utf8)) ?? ""
        try #require(answer.status == 0, "\(answer.stderr)\ncontainer output:\n\(log)")
        return try JSONSerialization.jsonObject(with: Data(answer.stdout.utf8)) as? [String: Any] ?? [:]
    }

    /// Which layers differ between the same image in two stores, and which files in them:
    /// the message a failed reproducibility check needs.
    static func layerDifferences(_ store1: String, _ store2: String, image: String) -> String {
        guard let one = try? manifestLayers(store1, image), let two = try? manifestLayers(store2, image) else {
            return "cannot read the manifests"
        }
        var report: [String] = []
        for (index, (a, b)) in zip(one, two).enumerated() where a != b {
            let listA = (try? run("/bin/sh", ["-c", "tar -tvzf \"$0\" | sort", blob(store1, a)]).stdout) ?? ""
            let listB = (try? run("/bin/sh", ["-c", "tar -tvzf \"$0\" | sort", blob(store2, b)]).stdout) ?? ""
            let setA = Set(listA.split(separator: "\n")), setB = Set(listB.split(separator: "\n"))
            report.append(
                "layer \(index): \(setA.symmetricDifference(setB).sorted().prefix(40).joined(separator: "\n  "))")
        }
        return report.isEmpty ? "same layers; the configs differ" : report.joined(separator: "\n")
    }

    static func manifestLayers(_ store: String, _ image: String) throws -> [String] {
        let inspected = try Imagekit.run(["inspect", image], store: store)
        let doc = try JSONSerialization.jsonObject(with: Data(inspected.stdout.utf8)) as? [String: Any]
        let layers = (doc?["manifest"] as? [String: Any])?["layers"] as? [[String: Any]] ?? []
        return layers.compactMap { $0["digest"] as? String }
    }

    static func blob(_ store: String, _ digest: String) -> String {
        "\(store)/blobs/\(digest.replacingOccurrences(of: ":", with: "/"))"
    }

    /// The paths in a layer blob, as `tar -t` prints them (directories end with "/").
    static func layerPaths(_ store: String, _ digest: String) throws -> [String] {
        let listed = try run("/usr/bin/tar", ["-tzf", blob(store, digest)])
        #expect(listed.status == 0, "\(listed.stderr)")
        return listed.lines.map { $0.hasPrefix("./") ? String($0.dropFirst(2)) : $0 }
    }

    // MARK: The build cache

    /// Records every runc invocation, then runs the real runc: proof of which steps ran a container.
    static func runcSpy(in scratch: TemporaryDirectory) throws -> (environment: [String: String], log: URL) {
        let log = URL(fileURLWithPath: scratch.path("runc-calls.log"))
        let spy = scratch.url.appendingPathComponent("runc-spy")
        try Data("#!/bin/sh\nprintf '%s\\n' \"$*\" >>\(log.path)\nexec \(tool("runc")) \"$@\"\n".utf8).write(to: spy)
        chmod(spy.path, 0o755)
        return (["IMAGEKIT_RUNC": spy.path], log)
    }

    /// The `run` calls the spy saw since the last call, and forgets them.
    static func containersStarted(_ log: URL) -> [String] {
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: log)
        return text.split(separator: "\n").filter { $0.split(separator: " ").dropFirst(2).first == "run" }.map(
            String.init)
    }

    /// "(N steps, M cached)" from the summary line.
    static func counts(_ stderr: String) -> (steps: Int, cached: Int)? {
        guard let line = stderr.split(separator: "\n").last(where: { $0.hasPrefix("built ") }),
            let open = line.lastIndex(of: "(")
        else { return nil }
        let numbers = line[open...].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }

    /// Whether the step whose text contains `fragment` was taken from the cache.
    static func wasCached(_ stderr: String, step fragment: String) -> Bool? {
        let lines = stderr.split(separator: "\n").map(String.init)
        guard let header = lines.first(where: { $0.hasPrefix("[") && $0.contains(fragment) }),
            let close = header.firstIndex(of: "]")
        else { return nil }
        return lines.contains(String(header[...close]) + " CACHED")
    }

    @Test func cacheReusesUnchangedStepsAndRerunsChangedOnes() throws {
        let scratch = try TemporaryDirectory.scratch("run-cache")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try Self.dashboardContext(in: context)
        let (spy, log) = try Self.runcSpy(in: scratch)
        func build(_ extra: [String] = []) throws -> ProcessResult {
            let result = try Imagekit.run(
                ["build", "-t", "dash:1", "--progress", "plain"] + extra + [context.path], store: store,
                environment: spy, directory: scratch.url)
            try #require(result.status == 0, "\(result.stderr)")
            return result
        }
        let pip = "pip install", venv = "python3 -m venv", useradd = "useradd", app = "COPY --chown=1000:1000 app/"

        let cold = try build()
        #expect(Self.containersStarted(log).count == 3, "venv, pip and useradd each run once")
        let layerSteps = try #require(Self.counts(cold.stderr), "\(cold.stderr)").steps
        #expect(Self.counts(cold.stderr)?.cached == 0)
        let coldLayers = try Self.manifestLayers(store, "dash:1")

        // Nothing changed: every step from the cache, no container.
        let noop = try build()
        #expect(Self.containersStarted(log).isEmpty)
        #expect(
            Self.counts(noop.stderr)?.steps == layerSteps && Self.counts(noop.stderr)?.cached == layerSteps,
            "\(noop.stderr)")
        #expect(!noop.stderr.contains("\n  | "), "no step output on a cached build: \(noop.stderr)")
        #expect(noop.stdout == cold.stdout)

        // An app file changed: only the app layer is new; pip stays cached.
        try BuildTests.write(["app/greeting.py": "GREETING = 'changed'\n"], in: context)
        let appChange = try build()
        #expect(Self.containersStarted(log).isEmpty)
        #expect(Self.wasCached(appChange.stderr, step: pip) == true)
        #expect(Self.wasCached(appChange.stderr, step: useradd) == true)
        #expect(Self.wasCached(appChange.stderr, step: app) == false, "\(appChange.stderr)")
        #expect(Self.counts(appChange.stderr)?.cached == layerSteps - 1, "\(appChange.stderr)")
        let appLayers = try Self.manifestLayers(store, "dash:1")
        #expect(appLayers.count == coldLayers.count)
        #expect(appLayers.dropLast() == coldLayers.dropLast())
        #expect(appLayers.last != coldLayers.last)

        // Requirements changed: pip runs again (and nothing else needs a container).
        try BuildTests.write(["requirements.txt": "itsdangerous==2.1.2\n"], in: context)
        let reqChange = try build()
        let started = Self.containersStarted(log)
        #expect(started.count == 1, "\(started)")
        #expect(Self.wasCached(reqChange.stderr, step: venv) == true)
        #expect(Self.wasCached(reqChange.stderr, step: pip) == false)
        #expect(Self.wasCached(reqChange.stderr, step: useradd) == true)
        #expect(reqChange.stderr.contains("Successfully installed itsdangerous-2.1.2"), "\(reqChange.stderr)")

        // --no-cache: everything runs.
        let fresh = try build(["--no-cache"])
        #expect(Self.containersStarted(log).count == 3)
        #expect(
            Self.counts(fresh.stderr)?.steps == layerSteps && Self.counts(fresh.stderr)?.cached == 0, "\(fresh.stderr)")
        #expect(!fresh.stderr.contains("CACHED"))
    }

    // MARK: Whiteouts

    @Test func deletionsAndReplacementsReachTheImage() throws {
        let scratch = try TemporaryDirectory.scratch("run-whiteouts")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN mkdir -p /w/gone-dir/sub /w/emptied /w/to-file /w/keep \\
                 && echo a > /w/gone-file && echo b > /w/gone-dir/sub/f && echo c > /w/to-dir \\
                 && echo d > /w/to-file/inner && echo e > /w/emptied/old1 && echo f > /w/emptied/old2 && echo k > /w/keep/k
                RUN rm /w/gone-file && rm -r /w/gone-dir /usr/share/doc/bash \\
                 && rm /w/to-dir && mkdir /w/to-dir && echo g > /w/to-dir/new \\
                 && rm -r /w/to-file && echo h > /w/to-file \\
                 && rm -r /w/emptied && mkdir /w/emptied && echo i > /w/emptied/new1
                RUN find /w -printf '%P %y\\n' | sort > /listing-inside-build
                """
            ], in: context)
        try BuildTests.build(context, tag: "wh:1", store: store, scratch: scratch)

        let expected = ["emptied d", "emptied/new1 f", "keep d", "keep/k f", "to-dir d", "to-dir/new f", "to-file f"]
        let unpacked = try BuildTests.unpack(store, "wh:1", scratch: scratch)
        let listed = try run(
            "/bin/sh", ["-c", "cd \"$0\" && find w -mindepth 1 -printf '%P %y\\n' | sort", unpacked.rootfs.path]
        ).lines
        #expect(listed == expected)
        #expect(
            unpacked.read("w/to-dir/new") == "g\n" && unpacked.read("w/to-file") == "h\n"
                && unpacked.read("w/emptied/new1") == "i\n"
                && unpacked.read("w/keep/k") == "k\n")
        #expect(!unpacked.exists("usr/share/doc/bash"))
        #expect(unpacked.exists("usr/share/doc/coreutils"))
        // A RUN on top of the whiteout layer sees the same tree.
        #expect(unpacked.read("listing-inside-build")?.split(separator: "\n").map(String.init) == [" d"] + expected)

        // The RUN layer says it with OCI whiteouts, an opaque marker for the emptied directory,
        // and nothing from the container's own mount points.
        let layers = try Self.manifestLayers(store, "wh:1")
        let deleting = Set(try Self.layerPaths(store, layers[layers.count - 2]))
        for path in [
            "w/.wh.gone-file", "w/.wh.gone-dir", "usr/share/doc/.wh.bash", "w/emptied/.wh..wh..opq", "w/to-dir/new",
            "w/to-file",
        ] {
            #expect(deleting.contains(path), "\(path) missing from \(deleting.sorted())")
        }
        #expect(deleting.allSatisfy { $0.hasPrefix("w/") || $0.hasPrefix("usr/") }, "\(deleting.sorted())")
    }

    // MARK: Failures

    /// Mount points under a directory, from /proc/mounts.
    static func mounts(under directory: String) -> [String] {
        let text = kernelFile("/proc/mounts")
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { return nil }
            let target = fields[1].replacingOccurrences(of: "\\040", with: " ")
            return target.hasPrefix(directory + "/") || target == directory ? target : nil
        }
    }

    /// runc containers whose bundle is in `store`: other suites run containers at the same time.
    static func runcContainers(of store: String) -> Set<String> {
        let listed = try? run(tool("runc"), ["--root", "/run/imagekit/runc", "list", "--format", "json"])
        let list =
            (try? JSONSerialization.jsonObject(with: Data((listed?.stdout ?? "").utf8))) as? [[String: Any]] ?? []
        return Set(
            list.compactMap { container in
                guard let bundle = container["bundle"] as? String, bundle.hasPrefix(store + "/") else { return nil }
                return container["id"] as? String
            })
    }

    @Test func failingRunLeavesNothingBehind() throws {
        let scratch = try TemporaryDirectory.scratch("run-fail")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        // A store in use: the base image is already unpacked for overlay mounts (a kept cache).
        try BuildTests.write(["Dockerfile": "FROM debian-python:bookworm\nRUN echo warm > /warm\n"], in: context)
        try #require(
            try Imagekit.run(["build", "-t", "warm:1", context.path], store: store, directory: scratch.url).status == 0)
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                # The failing step is on line 4.
                ENV STAGE=test
                RUN echo "first line"; echo "to stderr" >&2; \\
                    echo "last words of $STAGE" && exit 3
                RUN echo never
                """
            ], in: context)
        let before = BadInputTests.snapshot(store).filter { !$0.key.hasPrefix("tmp") }
        let containersBefore = Self.runcContainers(of: store)
        let result = try Imagekit.run(
            ["build", "-t", "fails:1", "--progress", "plain", context.path], store: store, directory: scratch.url)
        #expect(result.status == 1, "\(result.stderr)")
        let error = result.stderr.components(separatedBy: "error: ").last ?? ""
        #expect(error.hasPrefix("Dockerfile:4:"), "\(result.stderr)")
        #expect(error.contains("exit code 3"), "\(result.stderr)")
        for line in ["first line", "to stderr", "last words of test"] {
            #expect(error.contains("| \(line)"), "\(line) missing from: \(error)")
        }
        #expect(!result.stderr.contains("never"))
        #expect(result.stdout.isEmpty)
        let after = BadInputTests.snapshot(store).filter { !$0.key.hasPrefix("tmp") }
        #expect(
            after == before,
            "added: \(Set(after.keys).subtracting(before.keys).sorted().prefix(20)), removed: \(Set(before.keys).subtracting(after.keys).sorted().prefix(20))"
        )
        #expect(Self.mounts(under: store).isEmpty, "\(Self.mounts(under: store))")
        #expect(Self.runcContainers(of: store).subtracting(containersBefore).isEmpty)
        #expect(try Imagekit.run(["inspect", "fails:1"], store: store).status != 0)
    }

    @Test func interruptDuringRunCleansUpAndExits130() throws {
        let scratch = try TemporaryDirectory.scratch("run-sigint")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            ["Dockerfile": "FROM debian-python:bookworm\nRUN echo sleeping && sleep 30 && touch /done\n"], in: context)
        let containersBefore = Self.runcContainers(of: store)

        let stderrURL = URL(fileURLWithPath: scratch.path("stderr"))
        FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Imagekit.binary)
        process.arguments = ["--store", store, "build", "-t", "slow:1", "--progress", "plain", context.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        process.currentDirectoryURL = scratch.url
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }

        // Interrupt once the command runs inside its container.
        let deadline = Date().addingTimeInterval(120)
        var running = false
        while Date() < deadline && process.isRunning {
            if let text = try? String(contentsOf: stderrURL, encoding: .utf8), text.contains("| sleeping") {
                running = true; break
            }
            usleep(100_000)
        }
        try #require(running, "the RUN did not start: \((try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "")")
        let containersDuring = Self.runcContainers(of: store).subtracting(containersBefore)
        #expect(containersDuring.count == 1, "the RUN's container is listed while it runs")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
        #expect(
            process.terminationReason == .exit && process.terminationStatus == 130,
            "\(process.terminationReason) \(process.terminationStatus): \(stderr)")
        #expect(Self.mounts(under: store).isEmpty, "\(Self.mounts(under: store))")
        #expect(Self.runcContainers(of: store).subtracting(containersBefore).isEmpty)
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: store + "/tmp")) ?? []
        #expect(leftovers.filter { $0.hasPrefix("build-") }.isEmpty, "\(leftovers)")
        #expect(try Imagekit.run(["inspect", "slow:1"], store: store).status != 0)
    }

    // MARK: Mounts

    @Test func cacheAndSecretMountsStayOutOfLayers() throws {
        let scratch = try TemporaryDirectory.scratch("run-mounts")
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        let secretValue = "s3cr3t-\(UUID().uuidString)"
        let secretFile = scratch.url.appendingPathComponent("token.txt")
        try Data(secretValue.utf8).write(to: secretFile)
        // pip's own HTTP cache stays empty here (the PyPI proxy sends no cache headers), so the
        // step also keeps a log in the cache directory: each build sees the ones before it.
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                ENV PIP_DISABLE_PIP_VERSION_CHECK=1
                RUN python3 -m venv /opt/venv
                ARG BUILD
                RUN --mount=type=cache,target=/root/.cache/pip /opt/venv/bin/pip install itsdangerous==2.2.0 \\
                 && echo "build $BUILD" >> /root/.cache/pip/builds.log && cp /root/.cache/pip/builds.log /builds-seen
                RUN --mount=type=secret,id=token test "$(cat /run/secrets/token)" = "\(secretValue)" \\
                 && wc -c < /run/secrets/token > /token-length && ! touch /run/secrets/token 2>/dev/null
                """
            ], in: context)
        func build(_ number: Int) throws -> ProcessResult {
            let result = try Imagekit.run(
                [
                    "build", "-t", "mounts:1", "--progress", "plain", "--build-arg", "BUILD=\(number)",
                    "--secret", "id=token,src=\(secretFile.path)", context.path,
                ], store: store, directory: scratch.url)
            try #require(result.status == 0, "\(result.stderr)")
            #expect(result.stderr.contains("Successfully installed itsdangerous-2.2.0"), "\(result.stderr)")
            return result
        }
        _ = try build(1)
        let second = try build(2)
        #expect(Self.wasCached(second.stderr, step: "python3 -m venv") == true)

        let baseLayers = Set(try Self.manifestLayers(store, base))
        let ownLayers = try Self.manifestLayers(store, "mounts:1").filter { !baseLayers.contains($0) }
        #expect(ownLayers.count == 3)
        for layer in ownLayers {
            let paths = try Self.layerPaths(store, layer)
            #expect(
                !paths.contains { $0.hasPrefix("root/.cache") || $0.hasPrefix("run/secrets") },
                "\(paths.filter { $0.hasPrefix("r") })")
            let leaked = try run(
                "/bin/sh", ["-c", "gzip -dc \"$0\" | grep -c -F \"$1\"", Self.blob(store, layer), secretValue])
            #expect(
                leaked.trimmed == "0", "the secret is in layer \(layer)")
        }
        let unpacked = try BuildTests.unpack(store, "mounts:1", scratch: scratch)
        #expect(
            unpacked.read("token-length")
                == "\(secretValue.utf8.count)\n")
        #expect(
            unpacked.read("builds-seen")
                == "build 1\nbuild 2\n")
        #expect(
            FileManager.default.fileExists(
                atPath: unpacked.url("opt/venv/lib/python3.11/site-packages/itsdangerous").path))
        #expect(!unpacked.exists("root/.cache"))
        #expect(!unpacked.exists("run/secrets"))
    }
}
