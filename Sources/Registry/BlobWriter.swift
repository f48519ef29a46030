import CZlib
import Foundation
import OCI

/// Streams a downloaded blob into an ingest file while hashing it, and for gzip layers also
/// inflates it to hash the uncompressed tar (the diffID) and count its size. Memory stays flat.
final class BlobWriter {
    let path: String
    private let fd: Int32
    private let hasher = SHA256Hasher()
    private(set) var size: Int64 = 0
    private var inflater: GzipInflater?

    init(path: String, inflate: Bool) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw RegistryError.local("cannot create \(path): \(String(cString: strerror(errno)))") }
        inflater = inflate ? try GzipInflater() : nil
    }

    deinit { close(fd) }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw RegistryError.local("writing \(path) failed: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
        hasher.update(bytes)
        size += Int64(bytes.count)
        do { try inflater?.feed(bytes) } catch let error as GzipError {
            // Keep hashing: a wrong digest is the clearer report, so it is checked first.
            gzipError = error
            inflater = nil
        }
    }

    private(set) var gzipError: GzipError?

    /// Flushes to disk and returns the blob digest, and for gzip layers the diffID and uncompressed size.
    func finish() throws -> (digest: Digest, diffID: Digest?, uncompressedSize: Int64?, gzipError: GzipError?) {
        guard fsync(fd) == 0 else { throw RegistryError.local("syncing \(path) failed: \(String(cString: strerror(errno)))") }
        let digest = hasher.finalizeDigest()
        if let gzipError { return (digest, nil, nil, gzipError) }
        if let inflater {
            let (diffID, total): (Digest, Int64)
            do { (diffID, total) = try inflater.finish() } catch let error as GzipError { return (digest, nil, nil, error) }
            return (digest, diffID, total, nil)
        }
        return (digest, nil, nil, nil)
    }
}

/// zlib inflate of one or more concatenated gzip members, hashing the output.
final class GzipInflater {
    private var stream = z_stream()
    private let hasher = SHA256Hasher()
    private var output: UnsafeMutablePointer<UInt8>
    private let outputSize = 256 * 1024
    private(set) var total: Int64 = 0
    private var ended = false

    init() throws {
        output = .allocate(capacity: outputSize)
        // 15 + 16: gzip wrapper only; the layer media type promises gzip.
        let status = inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            output.deallocate()
            throw RegistryError.local("zlib could not start (status \(status))")
        }
    }

    deinit {
        inflateEnd(&stream)
        output.deallocate()
    }

    func feed(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(bytes.count)
        while stream.avail_in > 0 {
            if ended {
                // Another gzip member follows (pigz and some tools write several).
                guard inflateReset(&stream) == Z_OK else { throw RegistryError.local("zlib could not reset") }
                ended = false
            }
            stream.next_out = output
            stream.avail_out = UInt32(outputSize)
            let status = inflate(&stream, Z_NO_FLUSH)
            let produced = outputSize - Int(stream.avail_out)
            if produced > 0 {
                hasher.update(UnsafeRawBufferPointer(start: output, count: produced))
                total += Int64(produced)
            }
            switch status {
            case Z_STREAM_END: ended = true
            case Z_OK: continue
            case Z_BUF_ERROR where produced > 0: continue
            default:
                throw GzipError(reason: stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
            }
        }
    }

    func finish() throws -> (Digest, Int64) {
        // Drain whatever zlib still holds.
        while !ended {
            stream.next_out = output
            stream.avail_out = UInt32(outputSize)
            let status = inflate(&stream, Z_FINISH)
            let produced = outputSize - Int(stream.avail_out)
            if produced > 0 {
                hasher.update(UnsafeRawBufferPointer(start: output, count: produced))
                total += Int64(produced)
            }
            if status == Z_STREAM_END { ended = true; break }
            if produced == 0 { throw GzipError(reason: "the gzip stream is truncated") }
        }
        return (hasher.finalizeDigest(), total)
    }
}

struct GzipError: Error, CustomStringConvertible {
    var reason: String
    var description: String { "the layer is not valid gzip: \(reason)" }
}
