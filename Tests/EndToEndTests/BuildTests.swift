import Foundation
import TestSupport
import Testing

/// `imagekit build` end to end on the Debian base fixture, checked with skopeo, umoci and runc.
/// An image unpacked by umoci: the runtime bundle and readers for paths in its root filesystem.
struct UnpackedImage {
    let bundle: URL
    var rootfs: URL { bundle.appendingPathComponent("rootfs") }
    func url(_ path: String) -> URL { rootfs.appendingPathComponent(path) }
    func read(_ path: String) -> String? { try? String(contentsOf: url(path), encoding: .utf8) }
    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: url(path).path) }
    /// `uid:gid mode` of the path itself (not a symlink's target).
    func owner(_ path: String) -> String { BuildTests.owner(url(path)) }
}

extension ProcessResult {
    /// stdout without its trailing newline: the digest `build` and `import` print.
    var trimmed: String { stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
}

@Suite(.serialized) struct BuildTests {
    static func write(_ files: [String: String], in dir: URL) throws {
        for (path, text) in files {
            let url = dir.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
    }

    /// The config as skopeo reads it from a docker-archive export (skopeo's OCI config type has no Healthcheck).
    static func config(_ store: String, _ image: String, scratch: TemporaryDirectory) throws -> [String: Any] {
        let archive = scratch.path("archive-\(UUID().uuidString.prefix(6)).tar")
        #expect(try Imagekit.run(["export", image, "--format", "docker", "-o", archive], store: store).status == 0)
        let result = try run(tool("skopeo"), ["inspect", "--config", "--raw", "docker-archive:\(archive)"])
        #expect(result.status == 0, "\(result.stderr)")
        let doc = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        return doc?["config"] as? [String: Any] ?? [:]
    }

    /// Builds `context` as `tag` with plain progress from the scratch directory; a failed build fails the test.
    @discardableResult
    static func build(
        _ context: URL, tag: String, store: String, scratch: TemporaryDirectory, _ extra: [String] = [],
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> ProcessResult {
        let built = try Imagekit.run(
            ["build", "-t", tag, "--progress", "plain"] + extra + [context.path], store: store, directory: scratch.url)
        try #require(built.status == 0, "\(built.stderr)", sourceLocation: sourceLocation)
        return built
    }

    /// Exports `image` as an OCI layout and unpacks it with umoci (an independent reader).
    static func unpack(_ store: String, _ image: String, scratch: TemporaryDirectory) throws -> UnpackedImage {
        let layout = scratch.path("unpack-layout-\(UUID().uuidString.prefix(6))")
        #expect(try Imagekit.run(["export", image, "-o", layout], store: store).status == 0)
        let bundle = scratch.path("bundle-\(UUID().uuidString.prefix(6))")
        let result = try run(
            tool("umoci"), ["unpack", "--image", "\(layout):\(image.split(separator: ":").last!)", bundle])
        #expect(result.status == 0, "\(result.stderr)")
        return UnpackedImage(bundle: URL(fileURLWithPath: bundle))
    }

    static func owner(_ url: URL) -> String {
        var st = stat()
        lstat(url.path, &st)
        return "\(st.st_uid):\(st.st_gid) \(String(st.st_mode & 0o7777, radix: 8))"
    }

    static let metadataDockerfile = """
        # syntax=docker/dockerfile:1
        ARG BASE=debian-python:bookworm
        FROM ${BASE} AS assets
        WORKDIR /assets
        COPY static/ ./static/
        COPY --chmod=0640 config.ini ./

        FROM ${BASE}
        ARG VERSION=1.2.3
        ENV APP_HOME=/app \\
            APP_VERSION=${VERSION}
        LABEL org.opencontainers.image.version=$VERSION maintainer="team@example.com"
        WORKDIR $APP_HOME
        COPY --from=assets --chown=1000:1000 /assets /app/assets
        COPY --chown=1000:1000 --chmod=0755 app/ ./
        USER 1000
        EXPOSE 8501
        HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["python3", "-c", "print('ok')"]
        ENTRYPOINT ["python3"]
        CMD ["main.py"]
        """

    static let metadataContext: [String: String] = [
        "Dockerfile": metadataDockerfile,
        ".dockerignore": "# docs stay out\n**/*.md\n!app/KEEP.md\napp/secrets\n",
        "app/main.py": "print('hello')\n",
        "app/lib/util.py": "X = 1\n",
        "app/README.md": "ignored\n",
        "app/KEEP.md": "kept by the exception\n",
        "app/secrets/key": "never copied\n",
        "static/style.css": "body{}\n",
        "config.ini": "[a]\nb=1\n",
    ]

    @Test func multiStageWithoutRun() throws {
        let scratch = try TemporaryDirectory.scratch("build-meta")
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try Self.write(Self.metadataContext, in: context)
        let built = try Imagekit.run(
            ["build", "-t", "meta:1", "--iidfile", scratch.path("iid"), "--progress", "plain", context.path],
            store: store)
        #expect(built.status == 0, "\(built.stderr)")
        let digest = built.trimmed
        #expect(try String(contentsOfFile: scratch.path("iid"), encoding: .utf8) == digest)
        #expect(built.stderr.contains("[stage-1 2/12] ARG VERSION=1.2.3"), "\(built.stderr)")

        let config = try Self.config(store, "meta:1", scratch: scratch)
        #expect(config["User"] as? String == "1000")
        #expect(config["WorkingDir"] as? String == "/app")
        #expect((config["ExposedPorts"] as? [String: Any])?.keys.sorted() == ["8501/tcp"])
        #expect(config["Entrypoint"] as? [String] == ["python3"])
        #expect(config["Cmd"] as? [String] == ["main.py"])
        let env = config["Env"] as? [String] ?? []
        #expect(env.contains("APP_HOME=/app") && env.contains("APP_VERSION=1.2.3"))
        let labels = config["Labels"] as? [String: String] ?? [:]
        #expect(labels["org.opencontainers.image.version"] == "1.2.3")
        #expect(labels["maintainer"] == "team@example.com")
        #expect(labels["org.opencontainers.image.base.name"] == "debian-python:bookworm")
        #expect(labels["org.opencontainers.image.base.digest"] == base)
        let health = config["Healthcheck"] as? [String: Any] ?? [:]
        #expect(health["Test"] as? [String] == ["CMD", "python3", "-c", "print('ok')"])
        #expect(health["Interval"] as? Int == 30_000_000_000)
        #expect(health["Timeout"] as? Int == 5_000_000_000)
        #expect(health["StartPeriod"] as? Int == 10_000_000_000)
        #expect(health["Retries"] as? Int == 3)

        let unpacked = try Self.unpack(store, "meta:1", scratch: scratch)
        let app = unpacked.url("app")
        let files = try FileManager.default.subpathsOfDirectory(atPath: app.path).sorted()
        #expect(
            files == [
                "KEEP.md", "assets", "assets/config.ini", "assets/static", "assets/static/style.css", "lib",
                "lib/util.py", "main.py",
            ])
        #expect(Self.owner(app.appendingPathComponent("main.py")) == "1000:1000 755")
        #expect(Self.owner(app.appendingPathComponent("lib")) == "1000:1000 755")
        #expect(Self.owner(app.appendingPathComponent("assets/config.ini")) == "1000:1000 640")
        #expect(Self.owner(app.appendingPathComponent("assets/static/style.css")) == "1000:1000 644")
        #expect(unpacked.exists("usr/bin/python3"))

        // Reproducible: the same context in another empty store gives the same digest.
        let store2 = scratch.path("store2")
        _ = try Fixture.importBase(store: store2)
        let again = try Imagekit.run(["build", "-t", "meta:1", "--progress", "quiet", context.path], store: store2)
        #expect(again.trimmed == digest)
    }

    @Test func projectFileMakesPlainBuildWork() throws {
        let scratch = try TemporaryDirectory.scratch("build-project")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let project = scratch.url.appendingPathComponent("project")
        var files = Self.metadataContext
        files["docker/app.Dockerfile"] = files.removeValue(forKey: "Dockerfile")
        files["imagekit.yaml"] = """
            image: vibejudge-dashboard
            build:
              dockerfile: docker/app.Dockerfile
              context: .
              args: { VERSION: 9.9.9 }
            """
        try Self.write(files, in: project)
        let built = try Imagekit.run(["build"], store: store, directory: project)
        #expect(built.status == 0, "\(built.stderr)")
        let config = try Self.config(store, "vibejudge-dashboard:latest", scratch: scratch)
        #expect((config["Labels"] as? [String: String])?["org.opencontainers.image.version"] == "9.9.9")
        // Flags beat the file.
        let flagged = try Imagekit.run(
            ["build", "-t", "other:2", "--build-arg", "VERSION=1.0.0"], store: store, directory: project)
        #expect(flagged.status == 0, "\(flagged.stderr)")
        #expect(
            (try Self.config(store, "other:2", scratch: scratch)["Labels"] as? [String: String])?[
                "org.opencontainers.image.version"] == "1.0.0")

        // The gzip level is part of the cache key: another level writes other blobs, and going back reuses the first ones.
        let first = built.stdout
        let level9 = try Imagekit.run(
            ["build", "--compression-level", "9", "--progress", "quiet"], store: store, directory: project)
        #expect(level9.status == 0 && level9.stdout != first, "\(level9.stderr)")
        #expect(try Imagekit.run(["build", "--progress", "quiet"], store: store, directory: project).stdout == first)

        // It says which defaults it applied.
        #expect(
            built.stderr.contains(
                "using imagekit.yaml: dockerfile docker/app.Dockerfile; build args VERSION; tag vibejudge-dashboard"),
            "\(built.stderr)")

        // Another context built from inside the project is built as `docker build` would: none of
        // the project's args or tags, and a note saying so.
        let other = scratch.url.appendingPathComponent("project/elsewhere")
        try Self.write(Self.metadataContext, in: other)
        let unrelated = try Imagekit.run(["build", "-t", "unrelated:1", "elsewhere"], store: store, directory: project)
        #expect(unrelated.status == 0, "\(unrelated.stderr)")
        #expect(
            unrelated.stderr.contains("note: imagekit.yaml not applied: elsewhere is not this project's build context"),
            "\(unrelated.stderr)")
        #expect(
            (try Self.config(store, "unrelated:1", scratch: scratch)["Labels"] as? [String: String])?[
                "org.opencontainers.image.version"] != "9.9.9")
        // The project's own directory as the context is still the project.
        let own = try Imagekit.run(["build", "--progress", "plain", "."], store: store, directory: project)
        #expect(own.status == 0 && own.stderr.contains("using imagekit.yaml"), "\(own.stderr)")

        try Data("image: x\nbuild:\n  contxt: .\n".utf8).write(to: project.appendingPathComponent("imagekit.yaml"))
        let broken = try Imagekit.run(["build"], store: store, directory: project)
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("imagekit.yaml:3: unknown key `contxt`"))
    }

    @Test(arguments: [
        ("FROM debian-python:bookworm\nFROOM x\n", "Dockerfile:2:1", "unknown instruction"),
        ("FROM debian-python:bookworm\nENV A=\"unterminated\n", "Dockerfile:2", "quote"),
        ("FROM debian-python:bookworm\nCMD [\"a\", \"b\"\nLABEL x=1\n", "Dockerfile:2", "json"),
        ("FROM debian-python:bookworm\nCOPY missing.txt /x\n", "Dockerfile:2", "not found"),
        ("FROM debian-python:bookworm\nCOPY notes.md /x\n", "Dockerfile:2", ".dockerignore"),
        ("FROM debian-python:bookworm\nCOPY ../outside /x\n", "Dockerfile:2", "outside the build context"),
        ("FROM debian-python:bookworm\nCOPY --from=nosuchstage /a /b\n", "Dockerfile:2", "nosuchstage"),
        ("FROM debian-python:bookworm AS a\nCOPY --from=b /x /y\nFROM a AS b\n", "Dockerfile:", "circular"),
        ("FROM debian-python:bookworm\nRUN --mount=type=nosuch,target=/x true\n", "Dockerfile:2", "type"),
        ("FROM 127.0.0.1:1/nothing:here\n", "Dockerfile:1", "nothing"),
    ])
    func badDockerfilesFailClearly(_ dockerfile: String, _ location: String, _ mention: String) throws {
        let scratch = try TemporaryDirectory.scratch("build-bad")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try Self.write(["Dockerfile": dockerfile, "notes.md": "x", ".dockerignore": "*.md\n"], in: context)
        let before = BadInputTests.snapshot(store)
        let result = try Imagekit.run(["build", "-t", "bad:1", context.path], store: store)
        #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
        let error = result.stderr.split(separator: "\n").last(where: { $0.hasPrefix("error: ") }) ?? ""
        #expect(error.contains(location), "\(result.stderr)")
        #expect(error.lowercased().contains(mention.lowercased()), "\(result.stderr)")
        #expect(
            BadInputTests.snapshot(store).filter { !$0.key.hasPrefix("tmp") }
                == before.filter { !$0.key.hasPrefix("tmp") })
    }

    @Test func unknownTargetListsStages() throws {
        let scratch = try TemporaryDirectory.scratch("build-target")
        let store = scratch.path("store")
        let context = scratch.url.appendingPathComponent("ctx")
        try Self.write(["Dockerfile": "FROM scratch AS one\nFROM scratch AS two\n"], in: context)
        let result = try Imagekit.run(["build", "--target", "three", context.path], store: store)
        #expect(result.status == 2)
        #expect(
            result.stderr.contains("three") && result.stderr.contains("one") && result.stderr.contains("two"),
            "\(result.stderr)")
    }
}
