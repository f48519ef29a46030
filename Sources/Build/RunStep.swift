import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// RUN: the command runs with runc on an overlay mount of the stage's layers; the overlay's
/// upper directory, with whiteouts converted, becomes the new layer.
struct RunStep {
    let session: BuildSession
    let location: String
    let text: String
    let label: String

    func run(_ run: RunInstruction, state: inout StageState, stage: Stage, results: StageResults) async throws {
        let heredoc = try HeredocCommand(run, shell: state.shell, location: location)
        let args = heredoc.args
        let epoch = session.request.layerOptions.sourceDateEpoch
        var environment = state.scope.runEnvironment
        if !environment.contains(where: { $0.hasPrefix("PATH=") }) {
            environment.insert("PATH=\(ImageDefaults.path)", at: 0)
        }
        // Python then writes hash-based .pyc files, valid whatever the clamped mtimes are.
        environment.append("SOURCE_DATE_EPOCH=\(epoch)")

        var key = CacheKey(parent: state.cacheKey, kind: "RUN")
        key.add("args", args)
        key.add("env", environment)
        key.add("user", state.user)
        key.add("workdir", state.workdir)
        let network = Self.network(step: run.network, build: session.request.network)
        key.add("network", network.rawValue)
        if run.security == .insecure {
            guard session.request.allowInsecure else {
                throw BuildError.instruction(
                    location: location,
                    message:
                        "RUN --security=insecure runs the step without the sandbox; allow it with imagekit build --allow security.insecure, or drop the flag"
                )
            }
            key.add("security", "insecure")
        }
        if let script = heredoc.script { key.add("heredoc-script", script.content) }
        var bindSources: [Int: StageResult] = [:]
        for (index, mount) in run.mounts.enumerated() {
            key.add("mount\(index)", mount.spec.text)
            if mount.type == .bind || mount.type == .cache, let from = mount.from {
                let result: StageResult
                switch try session.graph.reference(from, at: mount.spec.location, inStage: stage.index) {
                case .stage(let stageIndex): result = try await results.result(of: stageIndex)
                case .image(let name):
                    result = try await session.imageSource(
                        name, at: mount.spec.location, flag: "RUN --mount=type=\(mount.type.rawValue),from")
                }
                bindSources[index] = result
                key.add("mount\(index)from", result.cacheKey.description)
            }
            if mount.type == .secret, let id = mount.id, mount.required, session.request.secrets[id] == nil {
                throw BuildError.instruction(
                    location: location,
                    message: "secret '\(id)' is required: pass it with --secret id=\(id),src=FILE (or env=VARIABLE)")
            }
            if mount.type == .ssh, let id = mount.id, mount.required, session.request.sshAgents[id] == nil {
                throw BuildError.instruction(
                    location: location,
                    message:
                        "ssh agent '\(id)' is required: pass it with --ssh \(id) (forwards SSH_AUTH_SOCK) or --ssh \(id)=SOCKET"
                )
            }
        }
        let digest = key.digest
        if let hit = await session.cachedResult(digest, label: label) {
            try await session.adopt(hit, key: digest, state: &state)
            return
        }
        let produced = try await execute(
            args: args, environment: environment, run: run, network: network, bindSources: bindSources, state: state,
            stage: stage)
        try await session.adopt(produced, key: digest, state: &state)
    }

    private func execute(
        args: [String], environment: [String], run: RunInstruction, network: RunNetwork,
        bindSources: [Int: StageResult], state: StageState,
        stage: Stage
    ) async throws -> CacheEntry {
        let runner = try RuncRunner(stateRoot: session.runcStateRoot)
        let lowers = try await session.unpackedLayers(state.config, layers: state.layers)
        let scratch = session.workRoot.appendingPathComponent("run-\(UUID().uuidString.lowercased().prefix(12))")
        let upper = scratch.appendingPathComponent("upper"), work = scratch.appendingPathComponent("work"),
            merged = scratch.appendingPathComponent("merged")
        for dir in [upper, work, merged] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        defer { FileOps.removeTree(scratch) }

        let mount = try OverlayMount.mount(
            lowers: lowers.reversed(), upper: upper, work: work, at: merged, scratch: session.workRoot)
        CleanupRegistry.shared.addMount(mount)
        var views: [MountedView] = []
        var pins: [OverlayMount] = []
        defer {
            // Bind sources first: the removal of the scratch directory must never reach through them.
            for pin in pins.reversed() { try? pin.unmount(); CleanupRegistry.shared.removeMount(pin) }
            views.forEach { $0.release() }
            try? mount.unmount()
            CleanupRegistry.shared.removeMount(mount)
        }

        let identity = try UserDatabase(rootfs: merged).identity(for: state.user)
        var binds: [RunSpec.Bind] = []
        var tmpfs: [RunSpec.Tmpfs] = []
        var sshSocket: String?  // the first ssh mount is SSH_AUTH_SOCK, as in BuildKit
        var transient: [String] = []  // mount points created only for this run: never part of the layer
        var targets = Set<String>()  // where cache, secret and bind mounts land, symlinks resolved
        // Existing directories that creating a mount point copies up into the upper directory, with
        // their owner and mode: unless the run changes them, they stay out of the layer too.
        var copiedUp: [String: stat] = [:]
        // Made inside the rootfs, symlinks resolved as the container sees them (an image's
        // `/root/.cache -> /etc` leads to the rootfs's /etc, never the host's); returns that path,
        // which is where runc then mounts.
        func mountPoint(_ path: String, directory: Bool) throws -> String {
            func fail(_ error: RootedPathError) -> BuildError {
                BuildError.instruction(
                    location: location, message: "cannot make the mount point \(path) in the image: \(error)")
            }
            do {
                return "/" + (try RootedPath.resolve(path, in: merged, escapes: .clamp)).relative
            } catch .missing(_, let missing) {
                // Its existing parents are copied up by what is created below them: note them first.
                var current = ""
                for component in missing.split(separator: "/").dropLast() {
                    current += (current.isEmpty ? "" : "/") + component
                    if copiedUp[current] == nil, RootedPath.status(of: current, in: upper) == nil,
                        let st = RootedPath.status(of: current, in: merged)
                    {
                        copiedUp[current] = st
                    }
                }
            } catch {
                throw fail(error)
            }
            let resolved: RootedPath
            do {
                resolved = try RootedPath.resolve(
                    path, in: merged, escapes: .clamp, create: directory ? .directories : .file)
            } catch { throw fail(error) }
            transient.append(contentsOf: resolved.created)
            return "/" + resolved.relative
        }
        for path in RunSpec.systemMountPoints { _ = try mountPoint("/" + path, directory: !path.hasPrefix("etc/")) }
        let workdir = try mountPoint(state.workdir, directory: true)
        transient.removeAll { "/" + $0 == workdir }  // WORKDIR itself is real

        var agentProxies: [SSHAgentProxy] = []  // one per ssh mount, stopped when the step is done
        defer { agentProxies.forEach { $0.stop() } }
        // Cache mounts: seeds first, then every lock of the step at once (see CacheMount.acquire).
        var cacheRequests: [CacheMount.Request] = []
        for (index, spec) in run.mounts.enumerated() where spec.type == .cache {
            guard let target = spec.effectiveTarget else { continue }
            var seed: (key: String, source: URL)?
            if let result = bindSources[index] {
                let view = try await session.mountView(result.config, layers: result.layers, name: "cache-seed")
                views.append(view)
                let source = try bindSource(spec, in: view.root, fromContext: false)
                let pinned = try pin(source, as: scratch.appendingPathComponent("cache-seed-\(index)"))
                pins.append(pinned)
                seed = ("\(result.cacheKey)\n\(spec.source ?? "/")", pinned.target)
            }
            cacheRequests.append(
                CacheMount.Request(
                    index: index, id: spec.effectiveCacheID ?? target, seed: seed, sharing: spec.sharing ?? .shared))
        }
        let caches = try await CacheMount.acquire(cacheRequests, storeRoot: session.store.root, scratch: scratch)
        // Released after the container has exited; a cache several mounts share holds one lock.
        defer { caches.release() }
        // Secrets as BuildKit gives them: a copy with the mount's mode and owner (default 0400,
        // root) on a tmpfs, so neither the user's file's permissions nor a disk are involved.
        var secretEnvironment: [String: String] = [:]
        var secretDirectory: URL?
        func secretFile(_ data: Data, index: Int, mode: UInt32, uid: Int, gid: Int) throws -> URL {
            let directory = scratch.appendingPathComponent("secrets")
            if secretDirectory == nil {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                let memory = try OverlayMount.tmpfs(at: directory, size: 64 << 20)
                CleanupRegistry.shared.addMount(memory)
                pins.append(memory)
                secretDirectory = directory
            }
            let file = directory.appendingPathComponent("secret-\(index)")
            guard
                FileManager.default.createFile(
                    atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]),
                chown(file.path, uid_t(uid), gid_t(gid)) == 0, chmod(file.path, mode_t(mode)) == 0
            else {
                throw BuildError.instruction(
                    location: location,
                    message: "cannot prepare secret mount \(index + 1): \(String(cString: strerror(errno)))")
            }
            return file
        }
        for (index, spec) in run.mounts.enumerated() {
            switch spec.type {
            case .cache:
                guard let target = spec.effectiveTarget, let cache = caches[index] else { continue }
                let dir = cache.directory
                if let uid = spec.uid {
                    chown(dir.path, uid_t(uid), gid_t(spec.gid ?? 0))
                } else if identity.uid != 0 {
                    chown(dir.path, identity.uid, identity.gid)
                }
                if let mode = spec.mode { chmod(dir.path, mode_t(mode)) }
                let destination = try mountPoint(target, directory: true)
                binds.append(RunSpec.Bind(source: dir.path, destination: destination, readOnly: spec.readOnly))
                targets.insert(String(destination.dropFirst()))
            case .secret:
                // Missing and not required: the step runs without it, as in BuildKit.
                guard let id = spec.id, let secret = session.request.secrets[id] else { continue }
                let data = try secret.contents()
                if let name = spec.env { secretEnvironment[name] = String(decoding: data, as: UTF8.self) }
                guard let target = spec.effectiveTarget else { continue }  // only a variable
                let file = try secretFile(
                    data, index: index, mode: spec.mode ?? 0o400, uid: spec.uid ?? 0, gid: spec.gid ?? 0)
                let destination = try mountPoint(target, directory: false)
                binds.append(RunSpec.Bind(source: file.path, destination: destination, readOnly: true))
                targets.insert(String(destination.dropFirst()))
            case .bind:
                guard let target = spec.effectiveTarget else { continue }
                let sourceRoot: URL
                if let result = bindSources[index] {
                    let view = try await session.mountView(result.config, layers: result.layers, name: "bind")
                    views.append(view)
                    sourceRoot = view.root
                } else {
                    sourceRoot = session.request.contextDirectory
                }
                let source = try bindSource(spec, in: sourceRoot, fromContext: bindSources[index] == nil)
                let pinned = try pin(source, as: scratch.appendingPathComponent("bind-\(index)"))
                pins.append(pinned)
                let destination = try mountPoint(target, directory: source.isDirectory)
                let (path, overlay) = try writable(
                    pinned, isDirectory: source.isDirectory, spec: spec, scratch: scratch, index: index)
                if let overlay { pins.append(overlay) }
                binds.append(RunSpec.Bind(source: path, destination: destination, readOnly: spec.readOnly))
                targets.insert(String(destination.dropFirst()))
            case .tmpfs:
                guard let target = spec.effectiveTarget else { continue }
                let destination = try mountPoint(target, directory: true)
                tmpfs.append(RunSpec.Tmpfs(destination: destination, size: spec.size))
                targets.insert(String(destination.dropFirst()))
            case .ssh:
                guard let id = spec.id, let target = spec.effectiveTarget else { continue }
                guard let agent = session.request.sshAgents[id] else { continue }
                let proxy = try SSHAgentProxy(
                    agent: agent, uid: spec.uid ?? 0, gid: spec.gid ?? 0, mode: spec.mode ?? 0o600)
                agentProxies.append(proxy)
                let destination = try mountPoint(target, directory: false)
                binds.append(RunSpec.Bind(source: proxy.socket.path, destination: destination, readOnly: false))
                targets.insert(String(destination.dropFirst()))
                if sshSocket == nil { sshSocket = destination }
            }
        }
        transient.append(contentsOf: targets)

        if let bind = try HeredocCommand(run, shell: state.shell, location: location).mountScript(in: scratch) {
            binds.append(bind)
        }

        // Docker sets HOME from the user's passwd entry when the image does not.
        var processEnvironment = environment
        if !processEnvironment.contains(where: { $0.hasPrefix("HOME=") }) {
            processEnvironment.append("HOME=\(identity.home)")
        }
        if let sshSocket, !processEnvironment.contains(where: { $0.hasPrefix("SSH_AUTH_SOCK=") }) {
            processEnvironment.append("SSH_AUTH_SOCK=\(sshSocket)")
        }
        for (name, value) in secretEnvironment.sorted(by: { $0.key < $1.key }) {
            processEnvironment.removeAll { $0.hasPrefix(name + "=") }
            processEnvironment.append("\(name)=\(value)")
        }
        var spec = RunSpec(
            id: "imagekit-\(UUID().uuidString.lowercased().prefix(16))", rootfs: merged, args: args,
            env: processEnvironment,
            cwd: state.workdir, user: identity, binds: binds, network: network == .none ? .none : .host)
        spec.tmpfs = tmpfs
        spec.insecure = run.security == .insecure
        let progress = session.progress
        let stageName = session.stageNames[stage.index] ?? "stage-\(stage.index)"
        let bundle = scratch.appendingPathComponent("bundle")
        let runSpec = spec
        let control = RunControl()
        // The container runs on a thread of its own (runc blocks until it exits), holding a job
        // slot; a cancelled build (another stage failed) kills it.
        let outcome = try await session.slots.run {
            try await withTaskCancellationHandler {
                try await Blocking.run {
                    try runner.run(
                        runSpec, bundle: bundle, output: { progress.output($0, stage: stageName) }, control: control)
                }
            } onCancel: {
                control.cancel()
            }
        }
        try Task.checkCancellation()
        guard outcome.exitCode == 0 else {
            throw BuildError.stepFailed(
                location: location, command: text.dropFirst(4).description, exitCode: outcome.exitCode,
                tail: outcome.tail)
        }
        try mount.unmount()
        CleanupRegistry.shared.removeMount(mount)

        // Transient mount points are dropped only if the run left them as it found them: empty, or
        // (for parents such as /root/.cache above a cache mount at /root/.cache/pip) holding nothing
        // but other dropped mount points. Deepest first, so children are decided before parents.
        var excluded = Set<String>()
        for path in Set(transient).sorted(by: { $0.split(separator: "/").count > $1.split(separator: "/").count }) {
            // Looked at without following symlinks: the run may have replaced a parent with one.
            let drop: Bool
            if targets.contains(path) {
                drop = true
            } else if let st = RootedPath.status(of: path, in: upper) {
                if (st.st_mode & S_IFMT) == S_IFDIR {
                    let children = RootedPath.names(in: path, under: upper) ?? []
                    drop = children.allSatisfy { excluded.contains(path + "/" + $0) }
                } else {
                    drop = st.st_size == 0 && (st.st_mode & S_IFMT) == S_IFREG
                }
            } else {
                drop = true
            }
            if drop { excluded.insert(path) }
        }
        var options = TreeScanner.Options()
        options.overlayWhiteouts = true
        let dropped = excluded
        options.exclude = { dropped.contains($0) }
        var entries = try TreeScanner.scan(upper, options: options)
        // A copied-up directory left with nothing of its own below it (no file, whiteout or opaque
        // marker) and its owner and mode unchanged is the lower layer's directory: leave it out.
        // Deepest first: /a/b may be dropped before /a is judged.
        for (path, before) in copiedUp.sorted(by: {
            $0.key.split(separator: "/").count > $1.key.split(separator: "/").count
        }) {
            guard let entry = entries.first(where: { $0.path == path }), case .directory = entry.kind,
                entry.mode == UInt32(before.st_mode & 0o7777), entry.uid == before.st_uid, entry.gid == before.st_gid,
                !entries.contains(where: { $0.path.hasPrefix(path + "/") })
            else { continue }
            entries.removeAll { $0.path == path }
        }
        guard !entries.isEmpty else {
            return try await session.writeLayer(entries: entries, createdBy: text, stage: stage.index)
        }
        // The layer's identity first (its tar stream hashed, nothing compressed); the upper
        // directory becomes the unpacked layer, and the blob (gzip, sha256) is written from there
        // in the background while the next steps run.
        let tarOptions = session.request.layerOptions  // the tar stream does not depend on the gzip level
        let layerEntries = entries
        let tar = try await session.slots.run { try LayerWriter.tarDigest(of: layerEntries, options: tarOptions) }
        if let unpacked = keepUnpacked(upper, entries: entries, as: tar.diffID) {
            session.produced.record(tar.diffID, entries)
            let prefix = upper.path + "/"
            let moved = entries.map { entry -> LayerEntry in
                guard case .regular(let source?, let size) = entry.kind, source.path.hasPrefix(prefix) else {
                    return entry
                }
                var entry = entry
                entry.kind = .regular(
                    source: unpacked.appendingPathComponent(String(source.path.dropFirst(prefix.count))), size: size)
                return entry
            }
            return await session.deferLayer(
                diffID: tar.diffID, uncompressedSize: tar.size, entries: moved, createdBy: text, stage: stage.index)
        }
        // Not kept (a failure there is not the step's): written now, from the upper directory.
        return try await session.writeLayer(entries: entries, createdBy: text, stage: stage.index)
    }

    /// The upper directory is already this layer in overlay form (whiteouts as 0/0 devices, opaque
    /// directories marked): trimmed to exactly the layer's entries, with times clamped as the layer
    /// has them, it goes into the layer cache, so the next step that mounts the layer does not
    /// extract the blob just written. Returns the layer's directory in the cache (this one, or the
    /// same layer unpacked before); nil when it could not be kept, and then the layer is written
    /// from the upper directory (trimmed or not, its entries' files are intact).
    private func keepUnpacked(_ upper: URL, entries: [LayerEntry], as diffID: Digest) -> URL? {
        let final = session.layers.path(for: diffID)
        if FileManager.default.fileExists(atPath: final.path) { return final }
        guard let enumerator = FileManager.default.enumerator(atPath: upper.path) else { return nil }
        var keep = Set<String>()
        for entry in entries {
            let slash = entry.path.lastIndex(of: "/")
            let name = slash.map { entry.path[entry.path.index(after: $0)...] } ?? entry.path[...]
            if name == ".wh..wh..opq" { continue }
            if name.hasPrefix(".wh.") {
                keep.insert(
                    String(entry.path[..<(slash ?? entry.path.startIndex)]) + (slash == nil ? "" : "/")
                        + name.dropFirst(4))
            } else {
                keep.insert(entry.path)
            }
        }
        var paths: [String] = []
        while let path = enumerator.nextObject() as? String { paths.append(path) }
        let epoch = session.request.layerOptions.sourceDateEpoch
        // Reverse pre-order: children before their parent, so a dropped directory is empty when removed.
        for path in paths.reversed() {
            let full = upper.appendingPathComponent(path).path
            guard keep.contains(path) else {
                if remove(full) != 0 { return nil }
                continue
            }
            var st = stat()
            guard lstat(full, &st) == 0 else { return nil }
            let mtime = timespec(tv_sec: min(st.st_mtim.tv_sec, time_t(epoch)), tv_nsec: 0)
            var times = [mtime, mtime]
            if utimensat(AT_FDCWD, full, &times, AT_SYMLINK_NOFOLLOW) != 0 { return nil }
        }
        // Another build may have kept the same layer meanwhile: theirs is identical.
        if rename(upper.path, final.path) == 0 || FileManager.default.fileExists(atPath: final.path) { return final }
        return nil
    }

    /// The source of a bind mount, resolved inside the build context (a symlink out of it is an
    /// error) or inside the stage's filesystem (symlinks read as the stage reads them).
    private func bindSource(_ spec: RunMount, in root: URL, fromContext: Bool) throws -> RootedPath {
        let written = spec.source ?? "/"
        let rootName = fromContext ? "the build context" : "the stage \(spec.from ?? "")"
        let at = spec.spec.location.description
        if RootedPath.climbsOutOfRoot(String(written.drop(while: { $0 == "/" }))) {
            throw BuildError.instruction(
                location: at, message: "RUN --mount source \(written) is outside \(rootName); bind only paths below it")
        }
        do {
            return try RootedPath.resolve(written, in: root, escapes: fromContext ? .reject : .clamp)
        } catch .missing {
            throw BuildError.instruction(
                location: at, message: "RUN --mount source \(written) does not exist in \(rootName)")
        } catch {
            throw BuildError.instruction(
                location: at,
                message:
                    "RUN --mount source \(written) resolves outside \(rootName) (\(error)); bind a real file or directory below it"
            )
        }
    }

    /// Binds exactly the resolved file (through its descriptor) read-only onto a private path, so
    /// nothing renamed or relinked after resolving changes what the container gets.
    private func pin(_ source: RootedPath, as pinned: URL) throws -> OverlayMount {
        do {
            if source.isDirectory {
                try FileManager.default.createDirectory(at: pinned, withIntermediateDirectories: true)
            } else if !FileManager.default.createFile(atPath: pinned.path, contents: nil) {
                throw BuildError.runFailed(reason: "cannot create \(pinned.path)")
            }
        } catch let error as BuildError { throw error } catch {
            throw BuildError.runFailed(reason: "cannot create \(pinned.path): \(error.localizedDescription)")
        }
        let mount = try OverlayMount.bind(source.descriptorPath, at: pinned, readOnly: true)
        CleanupRegistry.shared.addMount(mount)
        return mount
    }

    /// `rw` bind mounts are writable but, as in BuildKit, what the run writes there is discarded:
    /// an overlay with a scratch upper directory over a directory, a scratch copy of a file.
    private func writable(
        _ pinned: OverlayMount, isDirectory: Bool, spec: RunMount, scratch: URL, index: Int
    ) throws -> (String, OverlayMount?) {
        guard !spec.readOnly else { return (pinned.target.path, nil) }
        let base = scratch.appendingPathComponent("bind-\(index)-rw")
        if !isDirectory {
            do { try FileManager.default.copyItem(at: pinned.target, to: base) } catch {
                throw BuildError.runFailed(
                    reason: "cannot copy the bind mount source \(spec.source ?? "/"): \(error.localizedDescription)")
            }
            return (base.path, nil)
        }
        let upper = base.appendingPathComponent("upper"), work = base.appendingPathComponent("work"),
            merged = base.appendingPathComponent("merged")
        for dir in [upper, work, merged] {
            try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        let overlay = try OverlayMount.mount(
            lowers: [pinned.target], upper: upper, work: work, at: merged, scratch: scratch)
        CleanupRegistry.shared.addMount(overlay)
        return (merged.path, overlay)
    }

    /// The step's network: its own `--network`, or the build's; `none` from either wins. `default`
    /// is the host's network namespace here (there is no bridge, and pip must reach PyPI).
    static func network(step: RunNetwork, build: RunNetwork?) -> RunNetwork {
        if step == .none || build == RunNetwork.none { return .none }
        return step == .default ? build ?? .default : step
    }
}
