import Foundation
import TestSupport
import Testing

/// The registry build cache end to end: runners with empty stores build against the local
/// docker-registry; the fault proxy in front of it logs every request, so the tests count the
/// blobs a runner downloads.
@Suite(.serialized) struct RegistryCacheTests {
    static let dockerfile = """
        ARG BASE=debian-python:bookworm
        FROM ${BASE} AS builder
        RUN python3 -m venv /opt/venv
        COPY requirements.txt /tmp/requirements.txt
        RUN mkdir -p /opt/venv/deps && cp /tmp/requirements.txt /opt/venv/deps/ \\
         && python3 -c "open('/opt/venv/deps/big.bin', 'wb').write(bytes(range(256)) * 4096)" \\
         && rm /tmp/requirements.txt

        FROM ${BASE}
        RUN mkdir -p /app && chown 1000:1000 /app && echo 'app:x:1000:1000::/app:/bin/sh' >> /etc/passwd
        COPY --from=builder /opt/venv /opt/venv
        WORKDIR /app
        COPY --chown=1000:1000 app/ /app/src/
        USER 1000
        HEALTHCHECK CMD ["python3", "-c", "print('ok')"]
        CMD ["python3", "/app/src/main.py"]
        """

    static let context: [String: String] = [
        "Dockerfile": dockerfile,
        "requirements.txt": "streamlit==1.40.0\n",
        "app/main.py": "print('version 1')\n",
    ]

    /// A registry, the proxy in front of it, and the base image in the registry (pulled directly,
    /// not through the proxy: the counts are about the cache and the image).
    struct Setup {
        let scratch: TemporaryDirectory
        let registry: LocalRegistry
        let proxy: FaultProxy
        let context: URL
        let base: String

        static func start(_ name: String) async throws -> Setup {
            let scratch = try TemporaryDirectory.scratch(name)
            let registry = try await LocalRegistry.start()
            let proxy = try FaultProxy.start(upstream: registry.host)
            let seed = scratch.path("seed")
            _ = try Fixture.importBase(store: seed)
            let pushed = try Imagekit.run(
                [
                    "push", "debian-python:bookworm", "--repository", "\(registry.host)/base/debian-python", "--tag",
                    "bookworm",
                ], store: seed)
            #expect(pushed.status == 0, "\(pushed.stderr)")
            let context = scratch.url.appendingPathComponent("ctx")
            try BuildTests.write(RegistryCacheTests.context, in: context)
            return Setup(
                scratch: scratch, registry: registry, proxy: proxy, context: context,
                base: "\(registry.host)/base/debian-python:bookworm")
        }

        func stop() {
            proxy.stop()
            registry.stop()
        }

        var cacheRef: String { "\(proxy.host)/cache/app:buildcache" }

        func build(store: String, tag: String = "app:1", _ extra: [String]) throws -> ProcessResult {
            // Run outside the repository, whose imagekit.yaml would add its build args.
            try Imagekit.run(
                ["build", "-t", tag, "--build-arg", "BASE=\(base)", "--progress", "plain"] + extra + [context.path],
                store: scratch.path(store), directory: scratch.url)
        }

        func edit(_ path: String, _ text: String) throws {
            try Data(text.utf8).write(to: context.appendingPathComponent(path))
        }

        /// The cache manifest as the registry serves it.
        func cacheManifest(_ tag: String = "buildcache") throws -> [String: Any] {
            let result = try TestSupport.run(
                tool("skopeo"),
                ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/cache/app:\(tag)"])
            #expect(result.status == 0, "\(result.stderr)")
            return (try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]) ?? [:]
        }

        /// Digests of the layer blobs (not file lists) a cache manifest lists.
        func cachedLayerDigests(_ manifest: [String: Any]) -> Set<String> {
            let layers = manifest["layers"] as? [[String: Any]] ?? []
            return Set(
                layers.filter { ($0["mediaType"] as? String ?? "").contains("tar") }.compactMap {
                    $0["digest"] as? String
                })
        }

        /// Blob digests fetched (GET) through the proxy since the last clear.
        func blobGets() throws -> [String] {
            try proxy.log().filter { $0.method == "GET" && $0.path.contains("/blobs/sha256:") }
                .map { String($0.path.split(separator: "/").last ?? "") }
        }
    }

    static func digest(_ result: ProcessResult) -> String {
        result.trimmed
    }

    @Test func aFreshRunnerReusesTheRegistryCacheLazily() async throws {
        let setup = try await Setup.start("regcache")
        defer { setup.stop() }

        // Runner A, empty store: builds everything, exports every step, pushes the image.
        let first = try setup.build(store: "a", ["--cache-to", setup.cacheRef])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("exported the build cache to \(setup.cacheRef)"), "\(first.stderr)")
        let manifest = try setup.cacheManifest()
        #expect(manifest["artifactType"] as? String == "application/vnd.imagekit.buildcache.v1")
        #expect(manifest["mediaType"] as? String == "application/vnd.oci.image.manifest.v1+json")
        let cachedLayers = setup.cachedLayerDigests(manifest)
        // RUN venv, COPY requirements, RUN deps, RUN user, COPY --from, COPY app (WORKDIR made no layer).
        #expect(cachedLayers.count == 6, "\(cachedLayers)")
        let pushedA = try Imagekit.run(
            ["push", "app:1", "--repository", "\(setup.proxy.host)/team/app", "--tag", "v1"],
            store: setup.scratch.path("a"))
        #expect(pushedA.status == 0, "\(pushedA.stderr)")

        // The app changes. Runner A's warm local build gives the reference digest.
        try setup.edit("app/main.py", "print('version 2')\n")
        let warm = try setup.build(store: "a", tag: "app:2", [])
        #expect(warm.status == 0, "\(warm.stderr)")

        // Runner B, another empty store: one layer rebuilt, no layer blob downloaded, same digest.
        try setup.proxy.clear()
        let fresh = try setup.build(store: "b", tag: "app:2", ["--cache-from", setup.cacheRef])
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(Self.digest(fresh) == Self.digest(warm), "\(fresh.stderr)")
        #expect(fresh.stderr.contains("(7 steps, 6 cached, 6 from the registry cache)"), "\(fresh.stderr)")
        #expect(
            fresh.stderr.contains("CACHED (registry cache \(setup.proxy.host)/cache/app:buildcache)"), "\(fresh.stderr)"
        )
        // The base image's layers stay in their registry too: the cache lists their files.
        #expect(fresh.stderr.contains("left in the registry"), "\(fresh.stderr)")
        let gets = try setup.blobGets()
        #expect(!gets.isEmpty, "the cache's records are a blob")
        #expect(Set(gets).isDisjoint(with: cachedLayers), "runner B downloaded cached layers: \(gets)")

        // Verify on runner B, without the layers, says exactly what it says with them on runner A
        // (second runs, once both stores hold every layer's file list).
        let policy = repositoryRoot.appendingPathComponent("policies/default.yaml").path
        let verify = ["verify", "app:2", "--policy", policy, "--format", "json"]
        let firstB = try Imagekit.run(verify, store: setup.scratch.path("b"))
        _ = try Imagekit.run(verify, store: setup.scratch.path("a"))
        let verifyA = try Imagekit.run(verify, store: setup.scratch.path("a"))
        let verifyB = try Imagekit.run(verify, store: setup.scratch.path("b"))
        #expect(firstB.status == verifyA.status && verifyB.status == verifyA.status, "\(firstB.stderr)")
        #expect(
            !verifyB.stdout.isEmpty && verifyB.stdout == verifyA.stdout,
            "A: \(verifyA.stdout)\nB: \(verifyB.stdout)\n\(verifyB.stderr)")
        #expect(Set(try setup.blobGets()).isDisjoint(with: cachedLayers))

        // The push skips every blob the registry has; still no layer downloaded.
        let pushedB = try Imagekit.run(
            ["push", "app:2", "--repository", "\(setup.proxy.host)/team/app", "--tag", "v2"],
            store: setup.scratch.path("b"))
        #expect(pushedB.status == 0, "\(pushedB.stderr)")
        #expect(pushedB.stdout.contains(Self.digest(warm)))
        #expect(Set(try setup.blobGets()).isDisjoint(with: cachedLayers))

        // To a repository without those layers, the push mounts them from the cache's repository.
        let mounted = try Imagekit.run(
            ["push", "app:2", "--repository", "\(setup.proxy.host)/team/fresh", "--tag", "v2", "--json"],
            store: setup.scratch.path("b"))
        #expect(mounted.status == 0, "\(mounted.stderr)")
        let pushReport = (try JSONSerialization.jsonObject(with: Data(mounted.stdout.utf8)) as? [String: Any]) ?? [:]
        #expect(pushReport["blobsMounted"] as? Int == 2, "\(mounted.stdout)")
        #expect(Set(try setup.blobGets()).isDisjoint(with: cachedLayers))

        // A requirements change reruns the dependency step, which needs the venv layer's files.
        try setup.edit("requirements.txt", "streamlit==1.41.0\n")
        try setup.proxy.clear()
        let changed = try setup.build(store: "c", tag: "app:3", ["--cache-from", setup.cacheRef])
        #expect(changed.status == 0, "\(changed.stderr)")
        #expect(changed.stderr.contains("(7 steps, 2 cached, 2 from the registry cache)"), "\(changed.stderr)")
        #expect(
            !Set(try setup.blobGets()).isDisjoint(with: cachedLayers), "the venv layer must be fetched to run on it")
        let warmChanged = try setup.build(store: "a", tag: "app:3", [])
        #expect(Self.digest(changed) == Self.digest(warmChanged))
    }

    @Test func untrustedOrMissingCachesAreWarnings() async throws {
        let setup = try await Setup.start("regcache-bad")
        defer { setup.stop() }
        let first = try setup.build(store: "a", ["--cache-to", setup.cacheRef])
        #expect(first.status == 0, "\(first.stderr)")

        // A tampered record: the dependency layer claims a size the registry does not serve.
        let manifest = try setup.cacheManifest()
        let config = manifest["config"] as? [String: Any] ?? [:]
        let configDigest = config["digest"] as? String ?? ""
        let fetched = try TestSupport.run(
            "/usr/bin/curl", ["-sf", "http://\(setup.registry.host)/v2/cache/app/blobs/\(configDigest)"])
        var document = (try JSONSerialization.jsonObject(with: Data(fetched.stdout.utf8)) as? [String: Any]) ?? [:]
        var layers = document["layers"] as? [[String: Any]] ?? []
        let records = document["records"] as? [[String: Any]] ?? []
        let deps = records.first { ($0["createdBy"] as? String ?? "").contains("big.bin") }?["layer"] as? String
        #expect(deps != nil)
        for index in layers.indices {
            guard var blob = layers[index]["blob"] as? [String: Any], blob["digest"] as? String == deps else {
                continue
            }
            blob["size"] = (blob["size"] as? Int ?? 0) + 1
            layers[index]["blob"] = blob
        }
        document["layers"] = layers
        let tamperedConfig = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        let configDescriptor = try Self.uploadBlob(
            tamperedConfig, registry: setup.registry.host, repository: "cache/app", scratch: setup.scratch)
        var tampered = manifest
        var newConfig = config
        newConfig["digest"] = configDescriptor
        newConfig["size"] = tamperedConfig.count
        tampered["config"] = newConfig
        let manifestFile = setup.scratch.url.appendingPathComponent("tampered.json")
        try JSONSerialization.data(withJSONObject: tampered, options: [.sortedKeys]).write(to: manifestFile)
        let put = try TestSupport.run(
            "/usr/bin/curl",
            [
                "-sf", "-X", "PUT", "-H", "Content-Type: application/vnd.oci.image.manifest.v1+json",
                "--data-binary", "@\(manifestFile.path)",
                "http://\(setup.registry.host)/v2/cache/app/manifests/tampered",
            ])
        #expect(put.status == 0, "\(put.stderr)")
        let distrust = try setup.build(store: "b", ["--cache-from", "\(setup.proxy.host)/cache/app:tampered"])
        #expect(distrust.status == 0, "\(distrust.stderr)")
        #expect(distrust.stderr.contains("ignoring the records of layer \(deps ?? "")"), "\(distrust.stderr)")
        // Only the step whose record was ignored runs again (the keys of later steps do not depend on it).
        #expect(distrust.stderr.contains("(7 steps, 6 cached, 6 from the registry cache)"), "\(distrust.stderr)")
        #expect(Self.digest(distrust) == Self.digest(first))

        // A missing cache: a warning and a cold build.
        let missing = try setup.build(store: "c", ["--cache-from", "\(setup.proxy.host)/cache/nothing:here"])
        #expect(missing.status == 0, "\(missing.stderr)")
        #expect(
            missing.stderr.contains(
                "warning: cache \(setup.proxy.host)/cache/nothing:here is not usable, building without it"),
            "\(missing.stderr)")
        #expect(missing.stderr.contains("(7 steps, 0 cached)"), "\(missing.stderr)")

        // An export that fails is an error naming the ref, after the image is built and tagged.
        let port = try freeTCPPort()
        let failed = try setup.build(store: "c", tag: "app:exported", ["--cache-to", "127.0.0.1:\(port)/cache/app"])
        #expect(failed.status == 3, "\(failed.stderr)")
        #expect(
            failed.stderr.contains("cannot export the build cache to 127.0.0.1:\(port)/cache/app:buildcache"),
            "\(failed.stderr)")
        #expect(Self.digest(failed).hasPrefix("sha256:"))
        #expect(try Imagekit.run(["inspect", "app:exported"], store: setup.scratch.path("c")).status == 0)

        // The project file's cache out of reach (no AWS credentials here): warnings, and the build succeeds.
        let project = setup.scratch.url.appendingPathComponent("project")
        try BuildTests.write(
            [
                "Dockerfile": "FROM scratch\nCOPY a.txt /a.txt\n", "a.txt": "a\n",
                "imagekit.yaml": "image: proj\nbuild:\n  cache: ecr://proj:buildcache\n",
            ], in: project)
        let noAWS = [
            "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
        ]
        let offline = try Imagekit.run(
            ["build", "--progress", "plain"], store: setup.scratch.path("d"), environment: noAWS, directory: project)
        #expect(offline.status == 0, "\(offline.stderr)")
        #expect(
            offline.stderr.contains(
                "warning: the build cache ecr://proj:buildcache is not usable, building without it"),
            "\(offline.stderr)")
        #expect(
            offline.stderr.contains("warning: cannot export the build cache to ecr://proj:buildcache"),
            "\(offline.stderr)")
        let explicit = try Imagekit.run(
            ["build", "--cache-to", "ecr://proj:buildcache"], store: setup.scratch.path("d"), environment: noAWS,
            directory: project)
        #expect(
            explicit.status == 3 && explicit.stderr.contains("cannot export the build cache to ecr://proj:buildcache"),
            "\(explicit.stderr)")
    }

    @Test func concurrentExportsLeaveAReadableCache() async throws {
        let setup = try await Setup.start("regcache-race")
        defer { setup.stop() }
        let ref = "\(setup.proxy.host)/cache/app:race"
        // Two runners export the same build to one ref at once.
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for store in ["a", "b"] { group.addTask { try setup.build(store: store, ["--cache-to", ref]) } }
            return try await group.reduce(into: [ProcessResult]()) { $0.append($1) }
        }
        for result in results { #expect(result.status == 0, "\(result.stderr)") }
        let reader = try setup.build(store: "c", ["--cache-from", ref])
        #expect(reader.status == 0, "\(reader.stderr)")
        #expect(reader.stderr.contains("(7 steps, 7 cached, 7 from the registry cache)"), "\(reader.stderr)")
        #expect(Self.digest(reader) == Self.digest(results[0]))
    }

    @Test func ecrCacheRefsResolveAndAuthenticateAsPushDoes() async throws {
        let setup = try await Setup.start("regcache-ecr")
        defer { setup.stop() }
        let moto = try MotoServer()
        defer { moto.stop() }
        // The registry plays ECR: Basic auth with the password moto's GetAuthorizationToken hands out.
        let ecr = try await LocalRegistry.start(htpasswd: ("AWS", PushTests.motoPassword))
        defer { ecr.stop() }
        let flags = ["--cache-registry-host", ecr.host]
        let first = try Imagekit.run(
            [
                "build", "-t", "app:1", "--build-arg", "BASE=\(setup.base)", "--progress", "plain",
                "--cache-to", "ecr://vibejudge-dashboard",
            ] + flags + [setup.context.path],
            store: setup.scratch.path("a"), environment: moto.environment, directory: setup.scratch.url)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(
            first.stderr.contains("exported the build cache to \(ecr.host)/vibejudge-dashboard:buildcache"),
            "\(first.stderr)")
        let fresh = try Imagekit.run(
            [
                "build", "-t", "app:1", "--build-arg", "BASE=\(setup.base)", "--progress", "plain",
                "--cache-from", "ecr://vibejudge-dashboard:buildcache",
            ] + flags + [setup.context.path],
            store: setup.scratch.path("b"), environment: moto.environment, directory: setup.scratch.url)
        #expect(fresh.status == 0, "\(fresh.stderr)")
        #expect(fresh.stderr.contains("(7 steps, 7 cached, 7 from the registry cache)"), "\(fresh.stderr)")
        #expect(Self.digest(fresh) == Self.digest(first))
        for output in [first.stderr, fresh.stderr] { #expect(!output.contains(PushTests.motoPassword)) }

        // Without ECR's password the export fails at the end, naming the ref; the image is built.
        let denied = try Imagekit.run(
            [
                "build", "-t", "app:1", "--build-arg", "BASE=\(setup.base)", "--progress", "plain",
                "--cache-to", "\(ecr.host)/vibejudge-dashboard:other", setup.context.path,
            ],
            store: setup.scratch.path("c"), directory: setup.scratch.url)
        #expect(denied.status == 3, "\(denied.stderr)")
        #expect(
            denied.stderr.contains("cannot export the build cache to \(ecr.host)/vibejudge-dashboard:other"),
            "\(denied.stderr)")
        #expect(Self.digest(denied) == Self.digest(first))
    }

    /// A monolithic upload (POST, then PUT with the digest) straight to the registry.
    static func uploadBlob(
        _ data: Data, registry: String, repository: String, scratch: TemporaryDirectory
    ) throws -> String {
        let file = scratch.url.appendingPathComponent("blob-\(UUID().uuidString.prefix(6))")
        try data.write(to: file)
        let digest =
            "sha256:"
            + (try TestSupport.run("/usr/bin/sha256sum", [file.path]).stdout.split(separator: " ").first.map(
                String.init) ?? "")
        let start = try TestSupport.run(
            "/usr/bin/curl",
            ["-sf", "-D", "-", "-o", "/dev/null", "-X", "POST", "http://\(registry)/v2/\(repository)/blobs/uploads/"])
        let location =
            start.stdout.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") }
            .map { String($0.dropFirst("location:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        let absolute = location.hasPrefix("http") ? location : "http://\(registry)\(location)"
        // An explicit Content-Type: curl's default (a form) makes the registry read the body as one.
        let put = try TestSupport.run(
            "/usr/bin/curl",
            [
                "-sf", "-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary", "@\(file.path)",
                absolute + (absolute.contains("?") ? "&" : "?") + "digest=\(digest)",
            ])
        #expect(put.status == 0, "\(put.stderr)")
        return digest
    }
}
