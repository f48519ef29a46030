import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// Runs a Dockerfile into an image in the store. Stages run concurrently, each waiting for the
/// stages it uses (StageScheduler), with at most `BuildRequest.jobs` RUN containers and layer
/// writers at once; FROM comes from the store or the base-image source; COPY/ADD build layers straight from files; RUN runs
/// in runc on an overlay mount; everything that makes a layer goes through the build cache.
public struct Builder: Sendable {
    public let store: ImageStore
    public let baseImages: BaseImageSource
    /// A registry build cache (`--cache-from`), consulted after the store's own.
    public let remoteCache: RemoteCacheSource?
    public let progress: BuildProgress
    /// Scratch space for mounts and upper directories; removed when the build ends.
    public let workRoot: URL
    public let runcStateRoot: URL
    public static let defaultRuncStateRoot = URL(fileURLWithPath: "/run/imagekit/runc")

    public init(
        store: ImageStore, baseImages: BaseImageSource, remoteCache: RemoteCacheSource? = nil, progress: BuildProgress,
        workRoot: URL? = nil, runcStateRoot: URL = Builder.defaultRuncStateRoot
    ) {
        self.store = store
        self.baseImages = baseImages
        self.remoteCache = remoteCache
        self.progress = progress
        self.workRoot =
            workRoot ?? store.root.appendingPathComponent("tmp/build-\(UUID().uuidString.lowercased().prefix(12))")
        self.runcStateRoot = runcStateRoot
    }

    public func build(_ request: BuildRequest) async throws -> BuildResult {
        let parsed = try DockerfileParser.parse(
            contentsOf: request.dockerfile, displayName: request.dockerfileDisplayName)
        guard request.platform.os == "linux", request.platform.architecture == "amd64" else {
            throw BuildError.instruction(
                location: request.dockerfileDisplayName,
                message: "only --platform linux/amd64 can be built on this machine (asked: \(request.platform))")
        }
        let graph = try StageGraph(parsed, buildArgs: request.buildArgs)
        let stages = try graph.stages(neededFor: request.target)
        let ignore = try DockerIgnore.load(
            contextDirectory: request.contextDirectory, dockerfilePath: request.dockerfile)
        var warnings = parsed.warnings
        let unused = try graph.unconsumedBuildArgs(neededFor: request.target)
        if !unused.isEmpty {
            warnings.append("build args were not consumed by any stage: \(unused.sorted().joined(separator: ", "))")
        }

        // Leftovers of builds killed with SIGKILL are reaped; this build's claim marks it alive.
        _ = CleanupRegistry.reapStale(in: store.root.appendingPathComponent("tmp"), runcStateRoot: runcStateRoot)
        let claim = try CleanupRegistry.claim(workRoot)
        defer { claim.release() }
        try FileManager.default.createDirectory(at: workRoot, withIntermediateDirectories: true)
        CleanupRegistry.shared.addDirectory(workRoot)
        defer {
            CleanupRegistry.shared.drainMounts(under: workRoot)
            FileOps.removeTree(workRoot)
            CleanupRegistry.shared.removeDirectory(workRoot)
        }

        // The final stage and the stages it starts FROM are the image; the layers of the others
        // (builder stages) never ship.
        var shipped = Set<Int>()
        var next = stages.last
        while let stage = next {
            shipped.insert(stage.index)
            if case .stage(let parent) = stage.base { next = stages.first { $0.index == parent } } else { next = nil }
        }
        // Stage names for progress lines: its own, else stage-N.
        let names = Dictionary(uniqueKeysWithValues: stages.map { ($0.index, $0.name ?? "stage-\($0.index)") })
        let layerCache = try LayerCache(store: store)
        let session = BuildSession(
            request: request, shippedStages: shipped, store: store, cache: try BuildCache(store: store),
            layers: layerCache, ignore: ignore, graph: graph,
            baseImages: baseImages, remoteCache: remoteCache, progress: progress, workRoot: workRoot,
            runcStateRoot: runcStateRoot, slots: JobSlots(request.jobs), stageNames: names,
            produced: ProducedLayers(directory: layerCache.directory))
        var results: [Int: StageResult]
        let blobs: [Digest: Descriptor]
        do {
            results = try await StageScheduler(stages: stages).run { stage, finished in
                try await session.run(stage, results: finished)
            }
            // RUN layers written in the background: their blobs, then their cache records.
            let pending = try await session.pending.finish()
            blobs = pending.blobs
            for (key, entry) in pending.adopted {
                try session.cache.record(key, Self.resolving(entry, blobs))
            }
        } catch {
            await session.pending.cancelAll()
            CleanupRegistry.shared.waitIfInterrupted()
            throw error
        }
        for (index, result) in results {
            results[index]?.layers = result.layers.map { Self.resolving($0, blobs) }
        }
        guard let last = stages.last, var final = results[last.index] else {
            throw BuildError.internalState("the build produced no stage")
        }
        for (key, value) in request.labels {
            final.config.config.labels = (final.config.config.labels ?? [:]).merging([key: value]) { $1 }
        }
        let image = try await store.commitImage(
            config: final.config, layers: final.layers, format: request.format, tags: request.tags)
        var layers: [BuiltLayer] = []
        var seen = Set<Digest>()
        for (_, result) in results.sorted(by: { $0.key < $1.key }) {
            for (descriptor, diffID) in zip(result.layers, result.config.rootfs.diffIDs)
            where seen.insert(diffID).inserted {
                layers.append(BuiltLayer(descriptor: descriptor, diffID: diffID))
            }
        }
        return BuildResult(
            image: image, steps: session.counters.steps, cachedSteps: session.counters.cached,
            remoteCachedSteps: session.counters.remoteHits, warnings: warnings + session.counters.warnings,
            cacheRecords: session.counters.records.map {
                CacheRecord(key: $0.key, entry: Self.resolving($0.entry, blobs))
            },
            layers: layers)
    }

    /// A layer descriptor with a placeholder (PendingLayers) replaced by its written blob's.
    static func resolving(_ layer: Descriptor, _ blobs: [Digest: Descriptor]) -> Descriptor {
        guard let blob = blobs[layer.digest] else { return layer }
        var resolved = blob
        resolved.mediaType = layer.mediaType
        return resolved
    }

    static func resolving(_ entry: CacheEntry, _ blobs: [Digest: Descriptor]) -> CacheEntry {
        guard PendingLayers.isPlaceholder(entry), let layer = entry.layer else { return entry }
        var resolved = entry
        resolved.layer = resolving(layer, blobs)
        return resolved
    }
}
