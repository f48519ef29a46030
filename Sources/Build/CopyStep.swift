import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// COPY and ADD: the layer is made straight from the source files (the build context, another
/// stage's filesystem or an image's), never through a container.
struct CopyStep {
    let session: BuildSession
    let location: String
    let text: String
    let isAdd: Bool
    let label: String

    /// One file or directory to copy, where it comes from and where it lands.
    struct Item {
        var source: URL
        var destination: String  // relative to the image root, no leading "/"
        var status: stat
        var extractArchive: Bool
    }

    private enum Origin {
        case context(URL)
        case filesystem(config: ImageConfig, layers: [Descriptor], key: Digest)
    }

    func run(_ copy: CopyInstruction, state: inout StageState, stage: Stage, results: StageResults) async throws {
        // Heredoc bodies and downloads become files of their own, copied like context files.
        var copy = copy
        let counters = session.counters
        if isAdd { try AddURL.checkNetwork(copy, build: session.request.network) }
        let downloads =
            isAdd
            ? try await AddURL.fetch(copy, into: session.workRoot, location: location, warn: { counters.warn($0) }) : []
        let checkouts =
            isAdd ? try AddGit.fetch(copy, into: session.workRoot, warn: { counters.warn($0) }) : []
        copy.sources.removeAll { isAdd && (AddURL.isDownload($0.text) || CopySources.isGitURL($0.text)) }
        let inline =
            try HeredocFiles.write(copy.heredocs, under: session.workRoot) + downloads.map(\.file)
            + checkouts.map(\.directory)
        let origin = try await origin(of: copy, stage: stage, results: results)
        let destination = CopySources.resolveDestination(copy.destination.text, workdir: state.workdir)
        var key = CacheKey(parent: state.cacheKey, kind: isAdd ? "ADD" : "COPY")
        key.add("layer", Self.layerFormat)
        key.add("sources", copy.sources.map(\.text))
        key.add("destination", destination)
        key.add("chown", copy.chown?.text ?? "")
        key.add("chmod", copy.chmod?.text ?? "")
        if copy.parents { key.add("parents", "true") }
        if let unpack = copy.unpack { key.add("unpack", "\(unpack)") }
        if copy.keepGitDirectory { key.add("keep-git-dir", "true") }
        if !copy.heredocs.isEmpty { key.add("heredocs", copy.heredocs.flatMap { [$0.name, $0.content] }) }
        if !downloads.isEmpty { key.add("downloads", downloads.flatMap { [$0.url, $0.digest.description] }) }
        if !checkouts.isEmpty { key.add("git", checkouts.flatMap { [$0.url, $0.commit] }) }
        if !copy.excludes.isEmpty { key.add("exclude", copy.excludes.map(\.text)) }

        switch origin {
        case .context(let root):
            // `ADD --unpack` unpacks downloaded archives too; they are kept as files by default.
            let unpacked = copy.unpack == true ? Set(downloads.map(\.file)) : []
            let items = try collect(
                copy, root: root, isContext: true, destination: destination, ignore: session.ignore, inline: inline,
                unpacking: unpacked)
            key.add("content", try contentHash(items, root: root).description)
            let digest = key.digest
            if try await reuse(digest, state: &state) { return }
            let produced = try await makeLayer(
                items, copy: copy, destination: destination, state: state, stage: stage.index, contextRoot: root)
            try await session.adopt(produced, key: digest, state: &state)
        case .filesystem(let config, let layers, let sourceKey):
            key.add("from", sourceKey.description)
            let digest = key.digest
            if try await reuse(digest, state: &state) { return }
            let view = try await session.mountView(config, layers: layers, name: "copy-from")
            defer { view.release() }
            let items = try collect(
                copy, root: view.root, isContext: false, destination: destination, ignore: nil, inline: inline)
            let produced = try await makeLayer(
                items, copy: copy, destination: destination, state: state, stage: stage.index)
            try await session.adopt(produced, key: digest, state: &state)
        }
    }

    private func reuse(_ key: Digest, state: inout StageState) async throws -> Bool {
        guard let hit = await session.cachedResult(key, label: label) else { return false }
        try await session.adopt(hit, key: key, state: &state)
        return true
    }

    private func origin(of copy: CopyInstruction, stage: Stage, results: StageResults) async throws -> Origin {
        guard let from = copy.from else { return .context(session.request.contextDirectory) }
        switch try session.graph.reference(from.text, at: from.location, inStage: stage.index) {
        case .stage(let index):
            let result = try await results.result(of: index)
            return .filesystem(config: result.config, layers: result.layers, key: result.cacheKey)
        case .image(let name):
            let image = try await session.imageSource(name, at: from.location, flag: "--from")
            return .filesystem(config: image.config, layers: image.layers, key: image.cacheKey)
        }
    }

    // MARK: Sources

    /// Sources are resolved inside their root: the context rejects a symlink that leads out of it
    /// (it names a host path); an image's filesystem reads it as the image would (from its own root).
    /// `inline` files (heredocs, downloads, git checkouts) are imagekit's own, made outside the root.
    private func collect(
        _ copy: CopyInstruction, root: URL, isContext: Bool, destination: String, ignore: DockerIgnore?,
        inline: [URL] = [], unpacking: Set<URL> = []
    ) throws -> [Item] {
        let escapes: RootedPath.Escapes = isContext ? .reject : .clamp
        let rootName = isContext ? "the build context" : "the source stage's filesystem"
        var matches: [(word: Word, path: String)] = []
        for source in copy.sources {
            if RootedPath.climbsOutOfRoot(source.text.hasPrefix("/") ? String(source.text.dropFirst()) : source.text) {
                throw BuildError.instruction(
                    location: source.location.description,
                    message: "\(source.text) is outside \(rootName); COPY can only read files below it")
            }
            let lookup = SourceLookup(
                isDirectory: { path in
                    try Self.resolve(path, in: root, escapes: escapes, source: source, rootName: rootName)?.isDirectory
                },
                names: { path in
                    guard
                        let dir = try Self.resolve(
                            path, in: root, escapes: escapes, source: source, rootName: rootName), dir.isDirectory
                    else { return [] }
                    return RootedPath.names(in: dir.relative, under: root) ?? []
                })
            for path in try CopySources.expand(source, in: root, ignore: ignore, lookup: lookup) {
                matches.append((source, path))
            }
        }
        let sourceCount = matches.count + inline.count
        try CopySources.checkDestination(
            copy.destination, matchedSourceCount: sourceCount, keyword: isAdd ? .add : .copy)
        let destIsDirectory =
            CopySources.destinationIsDirectory(copy.destination.text) || sourceCount > 1 || copy.parents
        let destRelative = String(destination.drop(while: { $0 == "/" })).trimmingSuffix("/")
        var items: [Item] = []
        for (word, path) in matches {
            // A source named directly is followed if it is a symlink, as Docker does, but only inside its root.
            guard
                let resolved = try Self.resolve(
                    path == "." ? "" : path, in: root, escapes: escapes, source: word, rootName: rootName)
            else {
                throw BuildError.instruction(
                    location: word.location.description, message: "\(path) does not exist in \(rootName)")
            }
            // --parents keeps the source's directories (below a `/./` pivot) under the destination.
            let kept = copy.parents ? CopyParents.keptPath(word.text, matched: path) : nil
            if resolved.isDirectory {
                let into = kept.map { Self.join(destRelative, $0) } ?? destRelative
                try walk(
                    root, relative: resolved.relative, ignorePath: path == "." ? "" : path, into: into, ignore: ignore,
                    items: &items)
            } else {
                let name = path == "." ? resolved.url.lastPathComponent : URL(fileURLWithPath: path).lastPathComponent
                let target =
                    kept.map { Self.join(destRelative, $0) }
                    ?? (destIsDirectory ? Self.join(destRelative, name) : destRelative)
                let extract = isAdd && copy.unpack != false && Self.isArchive(resolved.openForReading())
                items.append(
                    Item(
                        source: resolved.url, destination: extract ? destRelative : target, status: resolved.status,
                        extractArchive: extract))
            }
        }
        if let excludes = try CopyExcludes(copy.excludes) {
            items.removeAll { excludes.excludes($0, destination: destRelative) }
        }
        for file in inline {
            var st = stat()
            guard lstat(file.path, &st) == 0 else {
                throw BuildError.context(path: file.path, message: "cannot read: \(String(cString: strerror(errno)))")
            }
            if st.st_mode & S_IFMT == S_IFDIR {
                try walk(file, relative: "", ignorePath: "", into: destRelative, ignore: nil, items: &items)
                continue
            }
            let target = destIsDirectory ? Self.join(destRelative, file.lastPathComponent) : destRelative
            let extract = unpacking.contains(file) && Self.isArchive(open(file.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC))
            items.append(
                Item(source: file, destination: extract ? destRelative : target, status: st, extractArchive: extract))
        }
        return items
    }

    /// A source path resolved inside `root`; nil when it does not exist; an error naming the
    /// Dockerfile line when it leads out of the root.
    private static func resolve(
        _ path: String, in root: URL, escapes: RootedPath.Escapes, source: Word, rootName: String
    ) throws -> RootedPath? {
        do {
            return try RootedPath.resolve(path, in: root, escapes: escapes)
        } catch .missing, .notDirectory {
            return nil
        } catch {
            throw BuildError.instruction(
                location: source.location.description,
                message:
                    "COPY source \(source.text) resolves outside \(rootName) (\(error)); copy the file into the context instead of linking to it"
            )
        }
    }

    /// Adds a directory's contents (not the directory itself) below `destination`. Nothing below is
    /// followed: symlinks are copied as symlinks and only real directories are entered.
    private func walk(
        _ root: URL, relative: String, ignorePath: String, into destination: String, ignore: DockerIgnore?,
        items: inout [Item]
    ) throws {
        guard let directory = RootedPath.Directory(relative, under: root) else {
            throw BuildError.context(
                path: root.appendingPathComponent(relative).path,
                message: "cannot open it as a directory (was it changed during the build?)")
        }
        try walk(
            directory, root: root, relative: relative, ignorePath: ignorePath, into: destination, ignore: ignore,
            items: &items)
    }

    private func walk(
        _ directory: RootedPath.Directory, root: URL, relative: String, ignorePath: String, into destination: String,
        ignore: DockerIgnore?, items: inout [Item]
    ) throws {
        guard let names = directory.names()?.sorted() else {
            throw BuildError.context(path: root.appendingPathComponent(relative).path, message: "cannot list it")
        }
        for name in names {
            let path = relative.isEmpty ? name : relative + "/" + name
            let contextPath = ignorePath.isEmpty ? name : ignorePath + "/" + name
            guard let st = directory.status(name) else {
                throw BuildError.context(
                    path: root.appendingPathComponent(path).path,
                    message: "cannot read it (was it changed during the build?)")
            }
            let isDirectory = (st.st_mode & S_IFMT) == S_IFDIR
            func descend() throws {
                guard let child = directory.child(name) else {
                    throw BuildError.context(
                        path: root.appendingPathComponent(path).path,
                        message: "cannot open it as a directory (was it changed during the build?)")
                }
                try walk(
                    child, root: root, relative: path, ignorePath: contextPath, into: Self.join(destination, name),
                    ignore: ignore, items: &items)
            }
            if let ignore, ignore.isExcluded(contextPath) {
                if isDirectory && ignore.mayContainIncluded(contextPath) { try descend() }
                continue
            }
            let kind = st.st_mode & S_IFMT
            // Sockets and fifos are not copied.
            guard kind == S_IFDIR || kind == S_IFREG || kind == S_IFLNK else { continue }
            items.append(
                Item(
                    source: root.appendingPathComponent(path), destination: Self.join(destination, name), status: st,
                    extractArchive: false))
            if isDirectory { try descend() }
        }
    }

    /// Paths, types, modes and contents (not mtimes) of what will be copied.
    private func contentHash(_ items: [Item], root: URL) throws -> Digest {
        let hasher = SHA256Hasher()
        for item in items.sorted(by: { $0.destination < $1.destination }) {
            let kind = item.status.st_mode & S_IFMT
            hasher.update(
                Data("\(item.destination)\0\(kind)\0\(item.status.st_mode & 0o7777)\0\(item.extractArchive)\0".utf8))
            if kind == S_IFLNK {
                hasher.update(
                    Data(((try? FileManager.default.destinationOfSymbolicLink(atPath: item.source.path)) ?? "").utf8))
            } else if kind == S_IFREG {
                let file: (digest: Digest, size: Int64)
                let fd = try Self.openSource(item.source, root: root)
                defer { close(fd) }
                do { file = try ImageStore.hashFile(URL(fileURLWithPath: "/proc/self/fd/\(fd)")) } catch {
                    throw BuildError.context(path: item.source.path, message: "cannot read: \(error)")
                }
                hasher.update(Data("\(file.size)\0\(file.digest)".utf8))
            }
            hasher.update(Data("\n".utf8))
        }
        return hasher.finalizeDigest()
    }

    /// Opens a source file for reading: below `root` without following a symlink anywhere.
    static func openSource(_ source: URL, root: URL?) throws -> Int32 {
        let fd: Int32
        if let root, source.path.hasPrefix(root.path + "/") {
            fd = RootedPath.openFile(String(source.path.dropFirst(root.path.count + 1)), under: root)
        } else {
            fd = open(source.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        }
        guard fd >= 0 else {
            throw BuildError.context(
                path: source.path,
                message: "cannot read: \(String(cString: strerror(errno))) (was it changed during the build?)")
        }
        return fd
    }

    // MARK: Layer

    /// Files of the build context (`contextRoot`) are opened without following symlinks below it.
    private func makeLayer(
        _ items: [Item], copy: CopyInstruction, destination: String, state: StageState, stage: Int,
        contextRoot: URL? = nil
    ) async throws -> CacheEntry {
        let epoch = session.request.layerOptions.sourceDateEpoch
        // The destination's filesystem is mounted only when a name must be read from /etc/passwd
        // or a parent directory cannot be looked up in the layers' entries.
        var view: MountedView?
        defer { view?.release() }
        let numericOwner =
            copy.chown.map {
                $0.text.split(separator: ":", omittingEmptySubsequences: false).count == 2
                    && $0.text.split(separator: ":", omittingEmptySubsequences: false).allSatisfy { UInt32($0) != nil }
            } ?? true
        if !numericOwner { view = try await session.mountView(state.config, layers: state.layers, name: "copy-to") }
        let owner = try copy.chown.map { word -> (UInt32, UInt32) in
            let identity = try (view.map { UserDatabase(rootfs: $0.root) } ?? UserDatabase()).identity(for: word.text)
            return (identity.uid, identity.gid)
        }
        let config = state.config, layers = state.layers
        var known: [String: PathKind] = [:]
        func lookUp(_ path: String) async throws -> PathKind {
            if let answer = known[path] { return answer }
            var kind = view == nil ? await session.lookUp(path, config: config, layers: layers) : nil
            if kind == nil {
                if view == nil { view = try await session.mountView(config, layers: layers, name: "copy-to") }
                let st = RootedPath.status(of: path, in: view!.root)  // never through a symlink in the image
                kind =
                    st == nil
                    ? .missing : (st!.st_mode & S_IFMT) == S_IFDIR ? .directory(DirectoryAttributes(st!)) : .other
            }
            known[path] = kind!
            return kind!
        }
        let chmod = copy.chmod.flatMap { UInt32($0.text, radix: 8) }
        var entries: [LayerEntry] = []
        var emitted = Set<String>()
        // Directories on the way to the destination that do not exist yet are created (owned by
        // --chown, 0755). Those that exist are in the layer with the mode and owner the layers
        // below give them, as in BuildKit's layers: a layer without them would unpack them as
        // root-owned 0755 and hide those in the overlay of every later step. (Something else on
        // the way, a symlink, gets no entry.)
        func ensureParents(of path: String) async throws {
            var current = ""
            var missing = false
            for component in path.split(separator: "/").dropLast() {
                current = Self.join(current, String(component))
                if emitted.contains(current) { continue }
                let kind: PathKind = missing ? .missing : try await lookUp(current)
                switch kind {
                case .other: continue
                case .directory(let attributes):
                    emitted.insert(current)
                    entries.append(
                        LayerEntry(
                            path: current, kind: .directory, mode: attributes.mode, uid: attributes.uid,
                            gid: attributes.gid, mtime: epoch))
                case .missing:
                    missing = true
                    emitted.insert(current)
                    entries.append(
                        LayerEntry(
                            path: current, kind: .directory, mode: 0o755, uid: owner?.0 ?? 0, gid: owner?.1 ?? 0,
                            mtime: epoch))
                }
            }
        }
        let destRelative = String(destination.drop(while: { $0 == "/" })).trimmingSuffix("/")
        let destinationIsDirectory =
            CopySources.destinationIsDirectory(copy.destination.text) || items.count != 1
            || items.first.map { ($0.status.st_mode & S_IFMT) == S_IFDIR } == true
        if !destRelative.isEmpty && destinationIsDirectory {
            try await ensureParents(of: destRelative + "/x")
        }
        var archives: [(URL, String)] = []
        for item in items {
            if item.extractArchive {
                archives.append((item.source, item.destination)); try await ensureParents(of: item.destination + "/x");
                continue
            }
            try await ensureParents(of: item.destination)
            guard !emitted.contains(item.destination) else { continue }
            emitted.insert(item.destination)
            let st = item.status
            let kind: EntryKind
            switch st.st_mode & S_IFMT {
            case S_IFDIR: kind = .directory
            case S_IFLNK:
                kind = .symlink(
                    target: (try? FileManager.default.destinationOfSymbolicLink(atPath: item.source.path)) ?? "")
            default: kind = .regular(source: item.source, size: Int64(st.st_size))
            }
            var mode = UInt32(st.st_mode & 0o7777)
            if let chmod, !Self.isSymlink(kind) { mode = chmod }
            let uid = owner?.0 ?? 0, gid = owner?.1 ?? 0
            entries.append(
                LayerEntry(
                    path: item.destination, kind: kind, mode: mode, uid: uid, gid: gid,
                    mtime: min(Int64(st.st_mtim.tv_sec), epoch)))
        }
        if archives.isEmpty {
            return try await session.writeLayer(
                entries: entries, createdBy: text, stage: stage, sourceRoot: contextRoot)
        }
        return try await writeWithArchives(
            entries: entries, archives: archives, owner: owner, contextRoot: contextRoot, stage: stage)
    }

    /// ADD of local archives: entries are re-packed under the destination, streamed from the archive.
    private func writeWithArchives(
        entries: [LayerEntry], archives: [(URL, String)], owner: (UInt32, UInt32)?, contextRoot: URL?, stage: Int
    ) async throws -> CacheEntry {
        try await session.writeLayer(createdBy: text, stage: stage, entries: nil) { writer in
            writer.sourceRoot = contextRoot
            for entry in entries { try writer.add(entry) }
            for (archive, destination) in archives {
                let file = try Self.openSource(archive, root: contextRoot)
                defer { close(file) }
                // Read through the descriptor opened inside the context; errors name the archive and the line.
                let opened = "/proc/self/fd/\(file)"
                do {
                    let reader = try LayerReader(path: URL(fileURLWithPath: opened))
                    while var entry = try reader.next() {
                        entry.path = Self.join(destination, entry.path)
                        if case .hardlink(let target) = entry.kind {
                            entry.kind = .hardlink(target: Self.join(destination, target))
                        }
                        if let owner { entry.uid = owner.0; entry.gid = owner.1 }
                        try writer.add(entry, reader: reader)
                    }
                } catch let error as ArchiveError {
                    throw BuildError.instruction(
                        location: location,
                        message: "ADD \(archive.lastPathComponent): "
                            + "\(error)".replacingOccurrences(of: opened, with: archive.lastPathComponent))
                }
            }
        }
    }

    // MARK: Helpers

    /// In the cache keys of COPY, ADD and WORKDIR: their layers carry the existing parent
    /// directories with their attributes, so a layer cached before they did is not reused.
    static let layerFormat = "existing parents with their mode and owner"

    static func join(_ base: String, _ name: String) -> String { base.isEmpty ? name : base + "/" + name }

    static func isSymlink(_ kind: EntryKind) -> Bool {
        if case .symlink = kind { return true }
        return false
    }

    /// gzip, bzip2, xz or plain tar, recognised by content as Docker does.
    /// Whether the file open at `fd` (taken over and closed) is a tar archive, plain or compressed.
    static func isArchive(_ fd: Int32) -> Bool {
        guard fd >= 0 else { return false }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let head = (try? handle.read(upToCount: 512)) ?? Data()
        let bytes = [UInt8](head)
        if bytes.starts(with: [0x1f, 0x8b]) || bytes.starts(with: [0x42, 0x5a, 0x68])
            || bytes.starts(with: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])
        {
            return true
        }
        return bytes.count >= 262 && Array(bytes[257..<262]) == Array("ustar".utf8)
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String {
        var s = self
        while s.hasSuffix(suffix) && s.count > suffix.count { s.removeLast(suffix.count) }
        return s == suffix ? "" : s
    }
}
