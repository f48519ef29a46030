import Archive
import Foundation
import OCI
import Store

/// The paths of the layers builds wrote (each a directory with its mode and owner, or something
/// else), so that WORKDIR and COPY can tell whether a directory exists, and what attributes it has,
/// without unpacking a layer just to look. Kept in memory for this build and, beside the unpacked
/// layers, for later ones (`<diffID hex>.paths`: a rebuild after an app change looks up /app in the
/// venv layer a cache hit gave it without unpacking 300 MB); `prune` removes those files with the
/// unpacked layers.
final class ProducedLayers: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [Digest: [String: ListedPath]] = [:]
    private let directory: URL?

    init(directory: URL? = nil) { self.directory = directory }

    private func file(_ diffID: Digest) -> URL? { directory?.appendingPathComponent("\(diffID.encoded).paths") }

    func record(_ diffID: Digest, _ entries: [LayerEntry]) {
        var map: [String: ListedPath] = [:]
        for entry in entries {
            if case .directory = entry.kind {
                map[entry.path] = .directory(DirectoryAttributes(mode: entry.mode, uid: entry.uid, gid: entry.gid))
            } else {
                map[entry.path] = .other
            }
        }
        lock.withLock { paths[diffID] = map }
        // A list of an earlier format (no attributes) is replaced.
        guard let file = file(diffID), Self.read(file) == nil else { return }
        // Per entry: the kind ("f", or "d MODE UID GID" in octal and decimal), NUL, the path, NUL
        // (a path may hold any byte but NUL); written whole and fsync'd before its rename, then a
        // trailer line, so a torn file is never read as a list.
        var data = Data()
        for (path, listed) in map.sorted(by: { $0.key < $1.key }) {
            let kind: String
            switch listed {
            case .directory(let a): kind = "d \(String(a.mode, radix: 8)) \(a.uid) \(a.gid)"
            case .other: kind = "f"
            }
            data.append(contentsOf: Array(kind.utf8) + [0] + Array(path.utf8) + [0])
        }
        data.append(contentsOf: Array(Self.trailer.utf8))
        try? FileOps.atomicWrite(data, to: file, mode: 0o600)  // best effort: without it, a lookup unpacks
    }

    /// Ends a complete list of this format; lists of the first format (kinds without attributes)
    /// ended with "end\n" and are not read.
    static let trailer = "end 2\n"

    func paths(of diffID: Digest) -> [String: ListedPath]? {
        if let known = lock.withLock({ paths[diffID] }) { return known }
        guard let file = file(diffID), let map = Self.read(file) else { return nil }
        lock.withLock { paths[diffID] = map }
        return map
    }

    private static func read(_ file: URL) -> [String: ListedPath]? {
        guard let data = try? FileOps.read(file),
            data.count >= trailer.utf8.count, data.suffix(trailer.utf8.count).elementsEqual(trailer.utf8)
        else { return nil }
        let fields = data.dropLast(trailer.utf8.count).split(separator: 0, omittingEmptySubsequences: false)
        guard fields.count % 2 == 1, fields.last?.isEmpty == true else { return nil }
        var map: [String: ListedPath] = [:]
        var index = fields.startIndex
        while index + 1 < fields.endIndex {
            guard let listed = parseKind(String(decoding: fields[index], as: UTF8.self)) else { return nil }
            map[String(decoding: fields[index + 1], as: UTF8.self)] = listed
            index += 2
        }
        return map
    }

    private static func parseKind(_ text: String) -> ListedPath? {
        if text == "f" { return .other }
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "d", let mode = UInt32(parts[1], radix: 8), mode <= 0o7777,
            let uid = UInt32(parts[2]), let gid = UInt32(parts[3])
        else { return nil }
        return .directory(DirectoryAttributes(mode: mode, uid: uid, gid: gid))
    }
}
