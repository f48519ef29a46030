import Archive
import Foundation
import OCI
import Store

/// The paths (and whether each is a directory) of the layers builds wrote, so that WORKDIR and
/// COPY can tell whether a directory exists without unpacking a layer just to look. Kept in
/// memory for this build and, beside the unpacked layers, for later ones (`<diffID hex>.paths`:
/// a rebuild after an app change looks up /app in the venv layer a cache hit gave it without
/// unpacking 300 MB); `prune` removes those files with the unpacked layers.
final class ProducedLayers: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [Digest: [String: Bool]] = [:]
    private let directory: URL?

    init(directory: URL? = nil) { self.directory = directory }

    private func file(_ diffID: Digest) -> URL? { directory?.appendingPathComponent("\(diffID.encoded).paths") }

    func record(_ diffID: Digest, _ entries: [LayerEntry]) {
        var map: [String: Bool] = [:]
        for entry in entries {
            if case .directory = entry.kind { map[entry.path] = true } else { map[entry.path] = false }
        }
        lock.withLock { paths[diffID] = map }
        guard let file = file(diffID), !FileManager.default.fileExists(atPath: file.path) else { return }
        // "d" or "f", NUL, the path, NUL (a path may hold any byte but NUL); written whole and
        // fsync'd before its rename, then a trailer line, so a torn file is never read as a list.
        var data = Data()
        for (path, isDirectory) in map.sorted(by: { $0.key < $1.key }) {
            data.append(contentsOf: Array((isDirectory ? "d" : "f").utf8) + [0] + Array(path.utf8) + [0])
        }
        data.append(contentsOf: Array(Self.trailer.utf8))
        try? FileOps.atomicWrite(data, to: file, mode: 0o600)  // best effort: without it, a lookup unpacks
    }

    static let trailer = "end\n"

    func paths(of diffID: Digest) -> [String: Bool]? {
        if let known = lock.withLock({ paths[diffID] }) { return known }
        guard let file = file(diffID), let data = try? FileOps.read(file),
            data.count >= Self.trailer.utf8.count, data.suffix(Self.trailer.utf8.count).elementsEqual(Self.trailer.utf8)
        else { return nil }
        let fields = data.dropLast(Self.trailer.utf8.count).split(separator: 0, omittingEmptySubsequences: false)
        guard fields.count % 2 == 1, fields.last?.isEmpty == true else { return nil }
        var map: [String: Bool] = [:]
        var index = fields.startIndex
        while index + 1 < fields.endIndex {
            let kind = String(decoding: fields[index], as: UTF8.self)
            guard kind == "d" || kind == "f" else { return nil }
            map[String(decoding: fields[index + 1], as: UTF8.self)] = kind == "d"
            index += 2
        }
        lock.withLock { paths[diffID] = map }
        return map
    }
}
