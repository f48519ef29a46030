import Archive
import Foundation
import OCI
import Store
import TestSupport

@testable import Policy

/// The repository's root (for policies/ and the built binary).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let defaultPolicyPath = packageRoot.appendingPathComponent("policies/default.yaml").path
let legacyPolicyPath = packageRoot.appendingPathComponent("policies/healthz-legacy.yaml").path

/// One entry of a test layer.
enum Item: Sendable {
    case file(String, String, mode: UInt32 = 0o644, uid: UInt32 = 0, gid: UInt32 = 0)
    case dir(String, mode: UInt32 = 0o755, uid: UInt32 = 0, gid: UInt32 = 0)
    case symlink(String, to: String)
    /// Deletes a path of a lower layer (`.wh.NAME`).
    case whiteout(String)
    /// Hides everything a lower layer had in a directory (`.wh..wh..opq`).
    case opaque(String)
}

/// Builds small images in a private store with the real layer writer.
final class ImageFactory: @unchecked Sendable {
    let dir: TemporaryDirectory
    let store: ImageStore
    var storeRoot: URL { dir.url.appendingPathComponent("store") }

    init() throws {
        dir = try TemporaryDirectory(prefix: "imagekit-policy")
        store = try ImageStore(root: dir.url.appendingPathComponent("store"))
    }

    /// The dashboard's base: passwd/group, /bin -> usr/bin, a shell, curl, Debian's setuid passwd, sticky /tmp.
    static let base: [Item] = [
        .dir("etc"),
        .file("etc/group", "root:x:0:\napp:x:1000:\n"),
        .file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/app:/bin/sh\n"),
        .symlink("bin", to: "usr/bin"),
        .dir("tmp", mode: 0o1777),
        .dir("usr"),
        .dir("usr/bin"),
        .file("usr/bin/curl", "#!ELF curl", mode: 0o755),
        .file("usr/bin/passwd", "#!ELF passwd", mode: 0o4755),
        .file("usr/bin/sh", "#!ELF sh", mode: 0o755),
    ]

    /// The app: /app owned by 1000:1000 and the virtualenv.
    static let app: [Item] = [
        .dir("app", uid: 1000, gid: 1000),
        .file("app/app.py", "import streamlit as st\nst.title('VibeJudge')\n", uid: 1000, gid: 1000),
        .dir("opt"),
        .dir("opt/venv"),
        .dir("opt/venv/bin"),
        .file("opt/venv/bin/python", "#!ELF python", mode: 0o755, uid: 1000, gid: 1000),
    ]

    static func dashboardConfig(_ c: inout ContainerConfig) {
        c.user = "1000"
        c.exposedPorts = ["8501/tcp": .object([:])]
        c.env = ["PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1"]
        c.workingDir = "/app"
        c.cmd = ["streamlit", "run", "app.py"]
        c.healthcheck = Healthcheck(
            test: ["CMD-SHELL", "curl -fsS http://localhost:8501/_stcore/health || exit 1"],
            interval: 30_000_000_000, timeout: 5_000_000_000, retries: 3)
        c.labels = ["org.opencontainers.image.base.name": "docker.io/library/python:3.12-slim"]
    }

    func layer(_ items: [Item]) async throws -> (Descriptor, WrittenLayer) {
        let sources = dir.url.appendingPathComponent("src-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        let output = store.newIngestURL()
        let writer = try LayerWriter(output: output, options: LayerOptions(compressionThreads: 1))
        for (n, item) in items.enumerated() {
            switch item {
            case .file(let path, let content, let mode, let uid, let gid):
                let source = sources.appendingPathComponent("\(n)")
                try Data(content.utf8).write(to: source)
                try writer.add(
                    LayerEntry(
                        path: path, kind: .regular(source: source, size: Int64(content.utf8.count)), mode: mode,
                        uid: uid, gid: gid))
            case .dir(let path, let mode, let uid, let gid):
                try writer.add(LayerEntry(path: path, kind: .directory, mode: mode, uid: uid, gid: gid))
            case .symlink(let path, let target):
                try writer.add(LayerEntry(path: path, kind: .symlink(target: target), mode: 0o777))
            case .whiteout(let path):
                let parent = (path as NSString).deletingLastPathComponent
                let name = ".wh." + (path as NSString).lastPathComponent
                try writer.add(
                    LayerEntry(
                        path: parent.isEmpty ? name : parent + "/" + name, kind: .regular(source: nil, size: 0),
                        mode: 0o644))
            case .opaque(let path):
                try writer.add(
                    LayerEntry(path: path + "/.wh..wh..opq", kind: .regular(source: nil, size: 0), mode: 0o644))
            }
        }
        let written = try writer.finish()
        try await store.commitIngested(output, digest: written.digest, size: written.size)
        try await store.recordLayerInfo(
            LayerInfo(diffID: written.diffID, uncompressedSize: written.uncompressedSize), for: written.digest)
        return (Descriptor(mediaType: MediaType.dockerLayerGzip, digest: written.digest, size: written.size), written)
    }

    /// An image from layers; each layer's history entry is `createdBy[i]` (or a generated one).
    @discardableResult
    func image(
        _ tag: String, layers: [[Item]], createdBy: [String] = [], format: ImageFormat = .docker,
        configure: (inout ContainerConfig) -> Void = ImageFactory.dashboardConfig
    ) async throws -> StoredImage {
        var config = ImageConfig(created: Timestamp.rfc3339(epochSeconds: 946_684_800))
        configure(&config.config)
        var descriptors: [Descriptor] = []
        config.appendEmptyLayerHistory(createdBy: "ARG BASE_IMAGE=python:3.12-slim", created: nil)
        for (n, items) in layers.enumerated() {
            let (descriptor, written) = try await layer(items)
            descriptors.append(descriptor)
            config.appendLayer(
                diffID: written.diffID, createdBy: n < createdBy.count ? createdBy[n] : "COPY layer\(n) /", created: nil
            )
            config.appendEmptyLayerHistory(createdBy: "ENV STEP=\(n)", created: nil)
        }
        return try await store.commitImage(
            config: config, layers: descriptors, format: format, tags: [try ImageReference(parsing: tag)])
    }

    /// The dashboard image, optionally with one more layer and a config change.
    @discardableResult
    func dashboard(
        _ tag: String = "dashboard:ok", extra: [Item] = [], format: ImageFormat = .docker,
        configure: @Sendable (inout ContainerConfig) -> Void = { _ in }
    ) async throws -> StoredImage {
        try await image(
            tag, layers: [Self.base, Self.app] + (extra.isEmpty ? [] : [extra]),
            createdBy: ["/bin/sh -c #(nop) ADD rootfs.tar /", "COPY . /app", "RUN extra"], format: format
        ) { c in
            Self.dashboardConfig(&c)
            configure(&c)
        }
    }

    func verify(_ reference: String, policy: PolicyDocument) async throws -> VerificationReport {
        let subject = try await ImageLocator.load(reference, storeRoot: storeRoot)
        return try Verifier.verify(subject, policy: policy)
    }
}

func loadPolicy(_ path: String = defaultPolicyPath) throws -> PolicyDocument { try PolicyLoader.load(file: path) }

extension VerificationReport {
    func result(_ id: String) -> RuleResult? { results.first { $0.id == id } }
}

/// The imagekit executable built next to the test bundle.
func imagekitBinary() throws -> String {
    let candidates = [
        Bundle.module.bundleURL.deletingLastPathComponent().appendingPathComponent("imagekit"),
        packageRoot.appendingPathComponent(".build/debug/imagekit"),
    ]
    for url in candidates where FileManager.default.isExecutableFile(atPath: url.path) { return url.path }
    throw PolicyError.io(
        path: candidates[0].path, reason: "the imagekit executable is not built; run `swift build` first")
}

/// `.venv/bin/python` when the repository has a venv (requirements-dev.txt), else python3.
func pythonExecutable() -> String {
    let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
    if FileManager.default.isExecutableFile(atPath: venv) { return venv }
    for path in ["/usr/local/bin/python3", "/usr/bin/python3"] where FileManager.default.isExecutableFile(atPath: path)
    { return path }
    return "/usr/bin/env"
}

func python(_ script: String, _ arguments: [String]) throws -> ProcessResult {
    let exe = pythonExecutable()
    return exe == "/usr/bin/env"
        ? try run(exe, ["python3", "-c", script] + arguments) : try run(exe, ["-c", script] + arguments)
}
