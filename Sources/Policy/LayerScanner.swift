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
            let cacheURL = layer.digest.flatMap { digest in
                image.cacheDirectory?.appendingPathComponent("\(digest.encoded).idx")
            }
            if let cacheURL, let cache = FileListCache.read(cacheURL) {
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
                let writer = cacheURL.map { _ in FileListCache.Writer() }
                try stream(layer, into: &index, figures: &figures, cache: writer)
                if layer.uncompressedSize == nil { figures.uncompressedSize = estimateTarSize(layer, figures: figures) }
                if let cacheURL, let writer, let directory = image.cacheDirectory {
                    // A cache that cannot be written only costs speed next time.
                    try? FileOps.makeDirectory(directory)
                    try? FileOps.atomicWrite(writer.finish(uncompressedSize: figures.uncompressedSize), to: cacheURL)
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

/// A layer's entries in a compact binary file (`<store>/meta/files/<blob hex>.idx`), so a layer
/// is decompressed once per store. Little-endian records; a file that does not parse exactly
/// is ignored and rebuilt.
enum FileListCache {
    static let magic = Array("IKFILES1".utf8)
    static let capturedKind: UInt8 = 255

    final class Writer {
        private var bytes: [UInt8] = FileListCache.magic + [UInt8](repeating: 0, count: 8)

        func append(_ record: EntryRecord) {
            bytes.append(record.kind.rawValue)
            put(record.mode); put(record.uid); put(record.gid); put(UInt64(bitPattern: record.size))
            putString(record.path)
            if let link = record.linkTarget { putString(link) } else { put(UInt32.max) }
        }

        func appendCaptured(_ path: String, _ content: [UInt8]) {
            bytes.append(FileListCache.capturedKind)
            put(UInt32(0)); put(UInt32(0)); put(UInt32(0)); put(UInt64(content.count))
            putString(path)
            put(UInt32(content.count))
            bytes.append(contentsOf: content)
        }

        func finish(uncompressedSize: Int64) -> Data {
            withUnsafeBytes(of: UInt64(bitPattern: uncompressedSize).littleEndian) { raw in
                for i in 0..<8 { bytes[8 + i] = raw[i] }
            }
            return Data(bytes)
        }

        private func put<T: FixedWidthInteger>(_ value: T) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }

        private func putString(_ text: String) {
            let utf8 = Array(text.utf8)
            put(UInt32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    struct Contents {
        let data: Data
        let uncompressedSize: Int64
        /// Entries in the list (captured file contents not counted).
        let count: Int

        func forEach(_ body: (EntryRecord) -> Void, captured: (String, [UInt8]) -> Void) {
            data.withUnsafeBytes { raw in
                var offset = 16
                while offset < raw.count {
                    let kind = raw[offset]
                    let mode = raw.loadUnaligned(fromByteOffset: offset + 1, as: UInt32.self).littleEndian
                    let uid = raw.loadUnaligned(fromByteOffset: offset + 5, as: UInt32.self).littleEndian
                    let gid = raw.loadUnaligned(fromByteOffset: offset + 9, as: UInt32.self).littleEndian
                    let size = Int64(
                        bitPattern: raw.loadUnaligned(fromByteOffset: offset + 13, as: UInt64.self).littleEndian)
                    let pathLength = Int(raw.loadUnaligned(fromByteOffset: offset + 21, as: UInt32.self).littleEndian)
                    let path = String(
                        decoding: UnsafeRawBufferPointer(rebasing: raw[(offset + 25)..<(offset + 25 + pathLength)]),
                        as: UTF8.self)
                    offset += 25 + pathLength
                    let linkLength = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
                    offset += 4
                    var link: String?
                    if linkLength != UInt32.max {
                        let end = offset + Int(linkLength)
                        if kind == FileListCache.capturedKind {
                            captured(path, Array(raw[offset..<end]))
                            offset = end
                            continue
                        }
                        link = String(decoding: UnsafeRawBufferPointer(rebasing: raw[offset..<end]), as: UTF8.self)
                        offset = end
                    }
                    body(
                        EntryRecord(
                            path: path, kind: NodeKind(rawValue: kind) ?? .regular, mode: mode, uid: uid, gid: gid,
                            size: size, linkTarget: link))
                }
            }
        }
    }

    /// The cached list, or nil when absent or not exactly well-formed.
    static func read(_ url: URL) -> Contents? {
        guard let data = try? Data(contentsOf: url) else { return nil }
        return parse(data)
    }

    /// A list's bytes, or nil when they are not exactly well-formed.
    static func parse(_ data: Data) -> Contents? {
        guard data.count >= 16, data.prefix(8).elementsEqual(magic), let count = validate(data) else { return nil }
        let size = data.withUnsafeBytes {
            Int64(bitPattern: $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self).littleEndian)
        }
        return Contents(data: data, uncompressedSize: size, count: count)
    }

    /// Walks the record lengths only, so a truncated or foreign file is never half-applied.
    /// Returns the number of entries, or nil when the file is not well-formed.
    private static func validate(_ data: Data) -> Int? {
        data.withUnsafeBytes { raw -> Int? in
            var offset = 16
            var count = 0
            while offset < raw.count {
                guard offset + 25 <= raw.count else { return nil }
                let kind = raw[offset]
                guard kind == capturedKind || NodeKind(rawValue: kind) != nil else { return nil }
                let size = Int64(
                    bitPattern: raw.loadUnaligned(fromByteOffset: offset + 13, as: UInt64.self).littleEndian)
                guard size >= 0, size <= LayerEntry.maxFileSize else { return nil }
                if kind != capturedKind { count += 1 }
                let pathLength = Int(raw.loadUnaligned(fromByteOffset: offset + 21, as: UInt32.self).littleEndian)
                offset += 25 + pathLength
                guard offset + 4 <= raw.count else { return nil }
                let linkLength = raw.loadUnaligned(fromByteOffset: offset, as: UInt32.self).littleEndian
                offset += 4
                if linkLength != UInt32.max { offset += Int(linkLength) }
                guard offset <= raw.count else { return nil }
            }
            return offset == raw.count ? count : nil
        }
    }
}

/// A layer's file list, as verify keeps it beside the store's blobs: made once from the blob,
/// shipped with the registry build cache (keyed there by diffID), and read back by the build (to
/// look paths up in a layer it has not downloaded) and by verify (so it needs no blob).
public enum LayerFileList {
    /// Where the store keeps the list of a layer blob.
    public static func url(storeRoot: URL, blob: Digest) -> URL {
        storeRoot.appendingPathComponent("meta/files/\(blob.encoded).idx")
    }

    /// The list of a layer blob in the store, made from the blob when the store has none yet.
    public static func ensure(
        blob: Descriptor, diffID: Digest, uncompressedSize: Int64?, storeRoot: URL
    ) throws(PolicyError) -> Data {
        let file = url(storeRoot: storeRoot, blob: blob.digest)
        if let existing = FileListCache.read(file) { return existing.data }
        let layer = LayerBlob(
            digest: blob.digest, diffID: diffID,
            file: storeRoot.appendingPathComponent("blobs/sha256/\(blob.digest.encoded)"),
            length: blob.size, uncompressedSize: uncompressedSize)
        let subject = ImageSubject(
            reference: blob.digest.description, digest: nil, config: ImageConfig(), layers: [layer],
            cacheDirectory: file.deletingLastPathComponent())
        _ = try LayerScanner.scan(subject)
        guard let written = FileListCache.read(file) else {
            throw .unreadableLayer(
                blob.digest.description, reason: "its file list could not be written to \(file.path)")
        }
        return written.data
    }

    /// Whether bytes are a well-formed list (a registry cache's list is checked before it is kept).
    public static func isValid(_ data: Data) -> Bool { FileListCache.parse(data) != nil }

    /// Paths of the list (path -> is a directory), whiteouts included as the layer names them.
    public static func paths(_ data: Data) -> [String: Bool]? {
        guard let contents = FileListCache.parse(data) else { return nil }
        var paths: [String: Bool] = [:]
        paths.reserveCapacity(contents.count)
        contents.forEach { record in
            paths[record.path] = record.kind == .directory
        } captured: { _, _ in
        }
        return paths
    }
}
