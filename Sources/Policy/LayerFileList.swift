import Archive
import Foundation
import OCI
import Store

/// A layer's entries in a compact binary file (the store keeps it as the layer blob's file index), so a layer
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

/// A layer's file list, as verify keeps it in the store (its file index): made once from the
/// blob, shipped with the registry build cache (keyed there by diffID), and read back by the
/// build (to look paths up in a layer it has not downloaded) and by verify (so it needs no blob).
public enum LayerFileList {
    /// The store's well-formed list of a layer blob, if it has one.
    public static func stored(blob: Digest, in store: ImageStore) -> Data? {
        store.fileIndex(layer: blob).flatMap { FileListCache.parse($0)?.data }
    }

    /// The list of a layer blob in the store, made from the blob when the store has none yet.
    public static func ensure(
        blob: Descriptor, diffID: Digest, uncompressedSize: Int64?, store: ImageStore
    ) throws(PolicyError) -> Data {
        if let existing = stored(blob: blob.digest, in: store) { return existing }
        let layer = LayerBlob(
            digest: blob.digest, diffID: diffID, file: store.blobURL(blob.digest), length: blob.size,
            uncompressedSize: uncompressedSize)
        let subject = ImageSubject(
            reference: blob.digest.description, digest: nil, config: ImageConfig(), layers: [layer],
            fileIndexes: store)
        _ = try LayerScanner.scan(subject)
        guard let written = stored(blob: blob.digest, in: store) else {
            throw .unreadableLayer(blob.digest.description, reason: "its file list could not be kept in the store")
        }
        return written
    }

    /// Whether bytes are a well-formed list (a registry cache's list is checked before it is kept).
    public static func isValid(_ data: Data) -> Bool { FileListCache.parse(data) != nil }

    /// Entries of the list by path (kind, mode, owner...), whiteouts included as the layer names them.
    public static func entries(_ data: Data) -> [String: EntryRecord]? {
        guard let contents = FileListCache.parse(data) else { return nil }
        var entries: [String: EntryRecord] = [:]
        entries.reserveCapacity(contents.count)
        contents.forEach { record in
            entries[record.path] = record
        } captured: { _, _ in
        }
        return entries
    }
}
