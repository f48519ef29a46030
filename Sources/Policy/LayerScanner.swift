import Archive
import Foundation
import OCI
import Store

/// Streams every layer once, in order, into a `FileIndex`. Nothing is extracted; only the
/// contents of a few small files rules need are read. With a cache directory, each layer's
/// file list is saved at first read (keyed by the blob digest) so later runs skip decompression.
public enum LayerScanner {
    public static func scan(_ image: ImageSubject) throws(PolicyError) -> FileIndex {
        var index = FileIndex()
        let instructions = image.layerInstructions
        for (position, layer) in image.layers.enumerated() {
            index.beginLayer()
            var figures = LayerFigures(
                index: position, digest: layer.digest?.description, diffID: layer.diffID?.description,
                createdBy: instructions[position], compressedSize: layer.length,
                uncompressedSize: layer.uncompressedSize ?? 0, entries: 0, fileBytes: 0, cached: false)
            let cacheKey = image.fileIndexes == nil ? nil : layer.digest
            if let cacheKey, let data = image.fileIndexes?.fileIndex(layer: cacheKey),
                let cache = FileListCache.parse(data)
            {
                figures.cached = true
                index.reserve(cache.count)
                if layer.uncompressedSize == nil { figures.uncompressedSize = cache.uncompressedSize }
                cache.forEach { record in
                    figures.entries += 1
                    if record.kind == .regular { figures.fileBytes = figures.fileBytes.addingSaturating(record.size) }
                    index.apply(record)
                } captured: { path, bytes in
                    index.capture(path, bytes)
                }
            } else {
                let writer = cacheKey.map { _ in FileListCache.Writer() }
                try stream(layer, into: &index, figures: &figures, cache: writer)
                if layer.uncompressedSize == nil { figures.uncompressedSize = estimateTarSize(layer, figures: figures) }
                if let cacheKey, let writer, let store = image.fileIndexes {
                    // A cache that cannot be written only costs speed next time.
                    try? store.recordFileIndex(
                        writer.finish(uncompressedSize: figures.uncompressedSize), layer: cacheKey)
                }
            }
            index.layers.append(figures)
        }
        return index
    }

    private static func stream(
        _ layer: LayerBlob, into index: inout FileIndex, figures: inout LayerFigures,
        cache: FileListCache.Writer?
    ) throws(PolicyError) {
        let name = layer.digest?.description ?? layer.file.path
        let fd = open(layer.file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw .unreadableLayer(name, reason: "\(layer.file.path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        if layer.offset > 0, lseek(fd, off_t(layer.offset), SEEK_SET) < 0 {
            throw .unreadableLayer(name, reason: String(cString: strerror(errno)))
        }
        do {
            let reader = try LayerReader(fileDescriptor: fd)
            while let entry = try reader.next() {
                let record = Self.record(entry)
                figures.entries += 1
                if record.kind == .regular { figures.fileBytes = figures.fileBytes.addingSaturating(record.size) }
                index.apply(record)
                cache?.append(record)
                if record.kind == .regular, FileIndex.capturedPaths.contains(record.path), record.size <= 1 << 20 {
                    var bytes: [UInt8] = []
                    try reader.readData { bytes.append(contentsOf: $0) }
                    index.capture(record.path, bytes)
                    cache?.appendCaptured(record.path, bytes)
                }
            }
        } catch let error as ArchiveError {
            throw .unreadableLayer(name, reason: error.description)
        } catch {
            throw .unreadableLayer(name, reason: "\(error)")
        }
    }

    static func record(_ entry: LayerEntry) -> EntryRecord {
        var kind = NodeKind.regular
        var size: Int64 = 0
        var link: String?
        switch entry.kind {
        case .regular(_, let s): size = s
        case .directory: kind = .directory
        case .symlink(let target): kind = .symlink; link = target
        case .hardlink(let target): kind = .hardlink; link = target
        case .characterDevice: kind = .characterDevice
        case .blockDevice: kind = .blockDevice
        case .fifo: kind = .fifo
        }
        return EntryRecord(
            path: entry.path, kind: kind, mode: entry.mode, uid: entry.uid, gid: entry.gid, size: size, linkTarget: link
        )
    }

    /// The tar stream's size when nothing recorded it: a plain tar blob is its own size; for
    /// gzip, the trailer's ISIZE (the size modulo 4 GiB), checked against the entries' sizes.
    static func estimateTarSize(_ layer: LayerBlob, figures: LayerFigures) -> Int64 {
        let fromEntries = figures.fileBytes.addingSaturating(Int64(figures.entries) * 512 + 1024)
        let fd = open(layer.file.path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return fromEntries }
        defer { close(fd) }
        var magic = [UInt8](repeating: 0, count: 2)
        guard magic.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 2, off_t(layer.offset)) }) == 2 else {
            return fromEntries
        }
        if magic != [0x1f, 0x8b] { return layer.length }
        var trailer = [UInt8](repeating: 0, count: 4)
        guard layer.length >= 4, layer.offset <= Int64.max - layer.length,
            trailer.withUnsafeMutableBytes({ pread(fd, $0.baseAddress, 4, off_t(layer.offset + layer.length - 4)) })
                == 4
        else {
            return fromEntries
        }
        let isize = Int64(trailer[0]) | Int64(trailer[1]) << 8 | Int64(trailer[2]) << 16 | Int64(trailer[3]) << 24
        return fromEntries < 1 << 32 && isize >= figures.fileBytes ? isize : fromEntries
    }
}
