import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// One build's shared parts and the per-instruction logic.
struct BuildSession: Sendable {
    let request: BuildRequest
    let shippedStages: Set<Int>
    let store: ImageStore
    let cache: BuildCache
    let layers: LayerCache
    let ignore: DockerIgnore
    let graph: StageGraph
    let baseImages: BaseImageSource
    let remoteCache: RemoteCacheSource?
    let progress: BuildProgress
    let workRoot: URL
    let runcStateRoot: URL
    /// Bounds the RUN containers and layer writers of all stages together (`--jobs`).
    let slots: JobSlots
    /// Each stage's name in progress lines, by index.
    let stageNames: [Int: String]
    let counters = BuildCounters()
    /// Layers unpacked (by diffID) and base images resolved (by name) once per build.
    let unpacking = SingleFlight<Digest, URL>()
    let bases = SingleFlight<String, StoredImage>()
    let produced: ProducedLayers
    let pending = PendingLayers()

    var created: String { Timestamp.rfc3339(epochSeconds: request.layerOptions.sourceDateEpoch) }

    func run(_ stage: Stage, results: StageResults) async throws -> StageResult {
        let count = stage.instructions.count + 1
        let label = { (n: Int) in "[\(stage.name ?? "stage-\(stage.index)") \(n)/\(count)]" }
        progress.step(label(1), stage.from.text)
        var state = try await startStage(stage, results: results)
        // The base image's ONBUILD triggers run first, as part of the FROM step (as in BuildKit).
        for located in try Self.triggers(state.baseTriggers, of: stage) {
            try Task.checkCancellation()
            if [.run, .copy, .add, .workdir].contains(located.instruction.keyword) { counters.step() }
            progress.step(label(1), "ONBUILD " + located.text)
            try await apply(located, to: &state, stage: stage, label: label(1), results: results)
        }
        for (offset, located) in stage.instructions.enumerated() {
            try Task.checkCancellation()
            let stepLabel = label(offset + 2)
            // Steps are what the cache can answer (the filesystem steps), so a build with nothing
            // changed reports "N steps, N cached"; metadata instructions are never run.
            if [.run, .copy, .add, .workdir].contains(located.instruction.keyword) { counters.step() }
            progress.step(stepLabel, located.text)
            try await apply(located, to: &state, stage: stage, label: stepLabel, results: results)
        }
        return StageResult(config: state.config, layers: state.layers, cacheKey: state.cacheKey, shell: state.shell)
    }

    // MARK: FROM

    /// A base image's ONBUILD triggers as instructions of the stage; errors point at its FROM line,
    /// since that is what the user wrote.
    static func triggers(_ texts: [String], of stage: Stage) throws -> [LocatedInstruction] {
        try texts.map { text in
            let parsed: ParsedDockerfile
            // Positions inside the trigger read `Dockerfile:LINE: ONBUILD trigger:1:COL`.
            let name = "\(stage.location.file):\(stage.location.line): ONBUILD trigger"
            do { parsed = try DockerfileParser(file: name).parse(text) } catch {
                throw BuildError.instruction(
                    location: stage.location.description,
                    message: "the base image's ONBUILD trigger `\(text)` is not valid: \(error)")
            }
            guard parsed.instructions.count == 1, var located = parsed.instructions.first,
                ![.from, .onbuild, .maintainer].contains(located.instruction.keyword)
            else {
                throw BuildError.instruction(
                    location: stage.location.description,
                    message: "the base image's ONBUILD trigger `\(text)` is not one instruction that can be a trigger")
            }
            located.location = stage.location
            return located
        }
    }

    private func startStage(_ stage: Stage, results: StageResults) async throws -> StageState {
        let location = stage.location.description
        if let platform = stage.platform, platform != request.platform.description {
            throw BuildError.baseImage(
                location: location,
                message: "FROM --platform=\(platform) cannot be built here; only \(request.platform) is supported")
        }
        var config: ImageConfig
        var layerDescriptors: [Descriptor]
        var key: Digest
        var shell = ["/bin/sh", "-c"]
        var baseTriggers: [String] = []
        switch stage.base {
        case .scratch:
            config = ImageConfig(architecture: request.platform.architecture, os: request.platform.os, created: created)
            config.config.env = ["PATH=\(ImageDefaults.path)"]
            layerDescriptors = []
            key = CacheKey(parent: nil, kind: "FROM scratch").digest
        case .stage(let index):
            let parent = try await results.result(of: index)
            config = parent.config
            layerDescriptors = parent.layers
            key = parent.cacheKey
            shell = parent.shell
        case .image(let name):
            let image = try await bases.value(for: name) { try await prepareBase(name, location: location) }
            config = image.config
            layerDescriptors = image.manifest.layers
            key = CacheKey(parent: nil, kind: "FROM \(image.digest)").digest
            shell = image.config.config.shell ?? shell
            var labels = config.config.labels ?? [:]
            let reference = try? ImageReference(parsing: name)
            labels[ImageDefaults.baseNameLabel] = reference?.familiar ?? name
            labels[ImageDefaults.baseDigestLabel] = image.digest.description
            config.config.labels = labels
            baseTriggers = config.config.onBuild ?? []
            config.config.onBuild = nil
        }
        // Layers of a stage that does not ship are compressed fast (see writeLayer); their cache
        // keys say so, so a later build that ships the stage (--target) does not reuse them.
        // Shipped layers are written at the configured level, and their keys say which, so changing
        // --compression-level does not reuse layers written at another level.
        let parentShipped: Bool
        let fromStage: Bool
        if case .stage(let parent) = stage.base {
            parentShipped = shippedStages.contains(parent); fromStage = true
        } else {
            parentShipped = true; fromStage = false
        }
        if !shippedStages.contains(stage.index) {
            if parentShipped {
                key =
                    CacheKey(parent: key, kind: "intermediate stage, gzip level \(intermediateCompressionLevel)").digest
            }
        } else if !fromStage || !parentShipped {
            key = CacheKey(parent: key, kind: "gzip level \(request.layerOptions.compressionLevel)").digest
        }
        config.created = created
        config.architecture = request.platform.architecture
        config.os = request.platform.os
        var state = StageState(
            config: config, layers: layerDescriptors, scope: graph.scope(baseEnvironment: config.config.env ?? []),
            cacheKey: key)
        state.shell = shell
        state.stageIndex = stage.index
        state.baseTriggers = baseTriggers
        return state
    }

    /// A base image, with its layers' facts recorded (taken from its config: checked again before
    /// anything trusts them); done once per build, however many stages start FROM it.
    private func prepareBase(_ name: String, location: String) async throws -> StoredImage {
        let image = try await baseImage(name, location: location)
        for (layer, diffID) in zip(image.manifest.layers, image.config.rootfs.diffIDs)
        where await store.layerInfo(layer.digest) == nil {
            try await store.recordLayerInfo(LayerInfo(diffID: diffID, uncompressedSize: layer.size), for: layer.digest)
        }
        return image
    }

    /// The unpacked directory of a layer, extracted at most once per build.
    func unpacked(blob: Digest, diffID: Digest) async throws -> URL {
        let layers = layers
        return try await unpacking.value(for: diffID) { try layers.unpacked(blob: blob, diffID: diffID) }
    }

    /// A base image from the store (by tag or digest) or, failing that, from its registry.
    private func baseImage(_ name: String, location: String) async throws -> StoredImage {
        let reference: ImageReference
        do { reference = try ImageReference(parsing: name) } catch {
            throw BuildError.baseImage(location: location, message: "\(error)")
        }
        if let local = try? await store.resolve(reference.description) { return local }
        progress.note("pulling \(reference.familiar)")
        do {
            return try await baseImages.pull(reference, platform: request.platform, into: store)
        } catch {
            throw BuildError.baseImage(
                location: location, message: "cannot get base image \(reference.familiar): \(error)")
        }
    }

    // MARK: Instructions

    private func apply(
        _ located: LocatedInstruction, to state: inout StageState, stage: Stage, label: String,
        results: StageResults
    ) async throws {
        let location = located.location.description
        let resolved = try state.scope.resolve(located)
        switch resolved {
        case .from:
            throw BuildError.internalState("\(location): FROM inside a stage")
        case .arg:
            try state.scope.apply(located)
        case .env:
            try state.scope.apply(located)
            state.config.config.env = state.scope.environment
            state.config.appendEmptyLayerHistory(createdBy: located.text, created: created)
        case .copy(let copy), .add(let copy):
            let isAdd = located.instruction.keyword == .add
            try await CopyStep(session: self, location: location, text: located.text, isAdd: isAdd, label: label)
                .run(copy, state: &state, stage: stage, results: results)
        case .run(let run):
            try await RunStep(session: self, location: location, text: located.text, label: label)
                .run(run, state: &state, stage: stage, results: results)
        case .workdir(let word):
            let path = Self.absolute(word.text, relativeTo: state.workdir)
            state.config.config.workingDir = path
            try await ensureDirectory(path, state: &state, text: located.text, label: label, stage: stage.index)
        default:
            try ConfigEditor.apply(
                resolved, text: located.text, location: location, to: &state.config, stageShell: &state.shell,
                cmdSetInStage: &state.cmdSetInStage)
            state.config.appendEmptyLayerHistory(createdBy: located.text, created: created)
        }
    }

    /// WORKDIR's path: relative ones join the current working directory, then cleaned as Go's `path.Clean`.
    static func absolute(_ path: String, relativeTo base: String) -> String {
        PathClean.clean(path.hasPrefix("/") ? path : base + "/" + path)
    }

    /// WORKDIR creates its directory when missing, as Docker does; the check is cached like any step.
    private func ensureDirectory(
        _ path: String, state: inout StageState, text: String, label: String, stage: Int
    ) async throws {
        var key = CacheKey(parent: state.cacheKey, kind: "WORKDIR")
        key.add("layer", CopyStep.layerFormat)
        key.add("path", path)
        if !state.user.isEmpty { key.add("user", state.user) }
        let digest = key.digest
        if let hit = await cachedResult(digest, label: label) {
            try await adopt(hit, key: digest, state: &state)
            return
        }
        var view: MountedView?
        defer { view?.release() }
        let epoch = request.layerOptions.sourceDateEpoch
        var existing: [LayerEntry] = []
        var created: [LayerEntry] = []
        var current = ""
        for component in path.split(separator: "/") {
            current += (current.isEmpty ? "" : "/") + component
            // Below a directory this step creates, nothing exists yet.
            var kind: PathKind? = created.isEmpty ? nil : .missing
            if kind == nil, view == nil { kind = await lookUp(current, config: state.config, layers: state.layers) }
            if kind == nil {
                if view == nil { view = try await mountView(state.config, layers: state.layers, name: "workdir") }
                let st = RootedPath.status(of: current, in: view!.root)  // never through a symlink in the image
                kind =
                    st == nil
                    ? .missing : (st!.st_mode & S_IFMT) == S_IFDIR ? .directory(DirectoryAttributes(st!)) : .other
            }
            switch kind! {
            case .directory(let attributes):
                existing.append(
                    LayerEntry(
                        path: current, kind: .directory, mode: attributes.mode, uid: attributes.uid,
                        gid: attributes.gid, mtime: epoch))
            case .other:
                throw BuildError.instruction(
                    location: text, message: "WORKDIR \(path): /\(current) exists and is not a directory")
            case .missing:
                created.append(LayerEntry(path: current, kind: .directory, mode: 0o755, uid: 0, gid: 0, mtime: epoch))
            }
        }
        // Created directories belong to the stage's USER, as BuildKit makes them.
        if !created.isEmpty, !state.user.isEmpty {
            if view == nil, !WorkdirOwner.isNumeric(state.user) {
                view = try await mountView(state.config, layers: state.layers, name: "workdir")
            }
            let owner = try WorkdirOwner.resolve(state.user, rootfs: view?.root)
            for i in created.indices { created[i].uid = owner.uid; created[i].gid = owner.gid }
        }
        // A WORKDIR that exists makes no layer. Otherwise the existing parents are in the layer
        // with the mode and owner the layers below give them (as in BuildKit's layers): a layer
        // without them would unpack them as root-owned 0755 and hide those in the overlay.
        let entries = created.isEmpty ? [] : existing + created
        let produced = try await writeLayer(entries: entries, createdBy: text, stage: stage)
        try await adopt(produced, key: digest, state: &state)
    }

    /// What a path (relative, no leading "/") is in a filesystem state (a directory with the mode
    /// and owner its topmost entry gives it), read from the entries of
    /// layers this build wrote and from unpacked layers (unpacking one only when it must be looked
    /// at), top layer first; nil when that cannot be told without mounting. Parents are looked up first by the callers, so a
    /// whiteout or opaque marker on a grandparent has already answered "missing".
    func lookUp(_ path: String, config: ImageConfig, layers descriptors: [Descriptor]) async -> PathKind? {
        let slash = path.lastIndex(of: "/")
        let parent = slash.map { String(path[..<$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let prefix = parent.isEmpty ? "" : parent + "/"
        let diffIDs = config.rootfs.diffIDs
        guard descriptors.count == diffIDs.count else { return nil }
        for (index, diffID) in diffIDs.enumerated().reversed() {
            // A layer whose blob is not here (a registry cache hit) answers from the cache's file list.
            var listed = produced.paths(of: diffID)
            if listed == nil, let remoteCache, !store.hasBlob(descriptors[index].digest),
                !FileManager.default.fileExists(atPath: layers.path(for: diffID).path)
            {
                listed = await remoteCache.paths(of: diffID)
                if listed == nil { return nil }
            }
            if let known = listed {
                if known[prefix + ".wh." + name] != nil { return .missing }
                switch known[path] {
                case .directory(let attributes): return .directory(attributes)
                case .other: return .other
                case nil: break
                }
                if known[prefix + ".wh..wh..opq"] != nil { return .missing }
                continue
            }
            // Unpacked once, a layer answers every later lookup and build; a listing of the blob
            // would cost a decompression each time.
            guard
                let directory = try? await unpacked(blob: descriptors[index].digest, diffID: diffID)
            else {
                return nil
            }
            // Looked up without following a symlink of the layer's (it may point at the host).
            if let st = RootedPath.status(of: path, in: directory) {
                if (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0 { return .missing }  // whiteout
                return (st.st_mode & S_IFMT) == S_IFDIR ? .directory(DirectoryAttributes(st)) : .other
            }
            // A parent here that is opaque hides the layers below.
            if index > 0, !parent.isEmpty, RootedPath.status(of: parent, in: directory) != nil {
                guard let opaque = OverlayOpaque.isOpaque(directory.appendingPathComponent(parent).path) else {
                    return nil
                }
                if opaque { return .missing }
            }
        }
        return .missing
    }

    // MARK: Layers and cache

    /// gzip level for layers of stages that do not ship: they are written only for the cache and
    /// to be unpacked again, so speed matters there, not size.
    var intermediateCompressionLevel: Int32 { min(request.layerOptions.compressionLevel, 1) }

    /// Writes entries as a layer of `stage` in the store; nil when there is nothing to write.
    /// Regular files below `sourceRoot` (a build context) are opened through it (LayerWriter.sourceRoot).
    func writeLayer(
        entries: [LayerEntry], createdBy: String, stage: Int, sourceRoot: URL? = nil
    ) async throws -> CacheEntry {
        guard !entries.isEmpty else {
            return CacheEntry(layer: nil, diffID: nil, uncompressedSize: nil, createdBy: createdBy)
        }
        return try await writeLayer(createdBy: createdBy, stage: stage, entries: entries) { writer in
            writer.sourceRoot = sourceRoot
            for entry in entries {
                try Task.checkCancellation()  // another stage failed: stop, the transaction removes the partial layer
                try writer.add(entry)
            }
        }
    }

    /// Writes a layer of `stage` through the store's ingest transaction: `body` adds its entries.
    /// `entries`, when given, are what the layer holds, remembered for path lookups. Holds a job
    /// slot while it writes; stops between entries when the build is cancelled.
    func writeLayer(
        createdBy: String, stage: Int, entries: [LayerEntry]?, _ body: (LayerWriter) throws -> Void
    ) async throws -> CacheEntry {
        var options = request.layerOptions
        if !shippedStages.contains(stage) { options.compressionLevel = intermediateCompressionLevel }
        let layerOptions = options
        let store = store
        let written = try await slots.run {
            try await store.ingestLayer(options: layerOptions) { writer in
                try Task.checkCancellation()
                try body(writer)
            }
        }
        if let entries { produced.record(written.diffID, entries) }
        let descriptor = Descriptor(
            mediaType: request.format.layerMediaType, digest: written.digest, size: written.size)
        return CacheEntry(
            layer: descriptor, diffID: written.diffID, uncompressedSize: written.uncompressedSize, createdBy: createdBy)
    }

    /// A RUN layer whose diffID is known and whose files are in the layer cache: its blob is
    /// written in the background (PendingLayers) and a placeholder result returned at once.
    /// `entries` read their files from the unpacked layer, which nothing changes.
    func deferLayer(
        diffID: Digest, uncompressedSize: Int64, entries: [LayerEntry], createdBy: String, stage: Int
    ) async -> CacheEntry {
        let session = self
        await pending.start(diffID) {
            let written = try await session.writeLayer(entries: entries, createdBy: createdBy, stage: stage)
            guard let layer = written.layer, written.diffID == diffID else {
                throw BuildError.internalState(
                    "the layer of `\(createdBy)` hashed to \(written.diffID?.description ?? "nothing") when written but to \(diffID) before: its files changed during the build"
                )
            }
            return layer
        }
        return CacheEntry(
            layer: Descriptor(mediaType: request.format.layerMediaType, digest: diffID, size: 0), diffID: diffID,
            uncompressedSize: uncompressedSize, createdBy: createdBy)
    }

    /// A step's result from the store's cache, else from the registry cache; reported as a hit.
    func cachedResult(_ key: Digest, label: String) async -> CacheEntry? {
        guard !request.noCache else { return nil }
        if let hit = cache.lookup(key) {
            progress.cached(label)
            counters.hit()
            counters.localHit(key)
            return hit
        }
        guard let remoteCache, let hit = await remoteCache.lookup(key, store: store) else { return nil }
        progress.cached(label, from: hit.source)
        counters.hit(remote: true)
        return hit.entry
    }

    /// Records a step's result in the cache and applies it to the stage. A result the store's
    /// cache answered costs nothing more here: no second read of its record, no layer facts.
    func adopt(_ entry: CacheEntry, key: Digest, state: inout StageState) async throws {
        counters.record(key, entry, stage: state.stageIndex)
        let local = counters.isLocalHit(key)
        let placeholder = PendingLayers.isPlaceholder(entry)
        if placeholder {
            await pending.adopt(key, entry)  // recorded when its blob is written
        } else if !local, cache.lookup(key) == nil, entry.layer.map({ store.hasBlob($0.digest) }) ?? true {
            try cache.record(key, entry)
        }
        state.cacheKey = key
        if let layer = entry.layer, let diffID = entry.diffID {
            var descriptor = layer
            descriptor.mediaType = request.format.layerMediaType
            state.layers.append(descriptor)
            state.config.appendLayer(diffID: diffID, createdBy: entry.createdBy, created: created)
            if !local, !placeholder, await store.layerInfo(layer.digest) == nil, let size = entry.uncompressedSize {
                try await store.recordLayerInfo(LayerInfo(diffID: diffID, uncompressedSize: size), for: layer.digest)
            }
        } else {
            state.config.appendEmptyLayerHistory(createdBy: entry.createdBy, created: created)
        }
    }

    /// The unpacked directories of an image's layers, bottom first. Layers known only to the
    /// registry cache are downloaded here, the first time a step must see their files.
    func unpackedLayers(_ config: ImageConfig, layers descriptors: [Descriptor]) async throws -> [URL] {
        guard descriptors.count == config.rootfs.diffIDs.count else {
            throw BuildError.internalState(
                "the image has \(descriptors.count) layers but \(config.rootfs.diffIDs.count) diffIDs in its config")
        }
        var directories: [URL] = []
        for (descriptor, diffID) in zip(descriptors, config.rootfs.diffIDs) {
            if !store.hasBlob(descriptor.digest),
                !FileManager.default.fileExists(atPath: layers.path(for: diffID).path),
                let remoteCache, store.remoteLayer(descriptor.digest) != nil
            {
                progress.note("fetching cached layer \(descriptor.digest.short) (\(descriptor.size) bytes)")
                try await remoteCache.fetch(descriptor, diffID: diffID, into: store)
            }
            directories.append(try await unpacked(blob: descriptor.digest, diffID: diffID))
        }
        return directories
    }

    /// An image named where a stage could be (`COPY --from=`, `RUN --mount=...,from=`): the store's
    /// copy, else pulled. Its cache key is its digest, so a moved tag is a new source.
    func imageSource(_ name: String, at location: SourceLocation, flag: String) async throws -> StageResult {
        let reference = try ImageReference(parsing: name)
        let image: StoredImage
        if let local = try? await store.resolve(reference.description) {
            image = local
        } else {
            progress.note("pulling \(reference.familiar) for \(flag)")
            do {
                image = try await baseImages.pull(reference, platform: request.platform, into: store)
            } catch {
                throw BuildError.baseImage(
                    location: location.description,
                    message:
                        "\(flag)=\(name) is neither a stage of this Dockerfile nor an image that can be pulled: \(error)"
                )
            }
        }
        return StageResult(
            config: image.config, layers: image.manifest.layers,
            cacheKey: CacheKey(parent: nil, kind: "FROM \(image.digest)").digest, shell: [])
    }

    /// A read-only view of a filesystem state, mounted under the work root.
    func mountView(_ config: ImageConfig, layers descriptors: [Descriptor], name: String) async throws -> MountedView {
        let lowers = try await unpackedLayers(config, layers: descriptors)
        let dir = workRoot.appendingPathComponent("view-\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let mount = try OverlayMount.mount(lowers: lowers.reversed(), upper: nil, work: nil, at: dir, scratch: workRoot)
        CleanupRegistry.shared.addMount(mount)
        return MountedView(mount: mount)
    }
}
