import Archive
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
    private let diffHasher = SHA256Hasher()
    private var uncompressedSize: Int64 = 0
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)

    init(path: String, inflate: Bool) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { throw RegistryError.local("cannot create \(path): \(String(cString: strerror(errno)))") }
        inflater = inflate ? try GzipInflater() : nil
    }

    deinit {
        close(fd)
        output.deallocate()
    }

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
        guard let inflater else { return }
        inflater.setInput(bytes)
        do throws(GzipError) {
            while !inflater.needsInput {
                let n = try inflater.inflate(into: output)
                diffHasher.update(UnsafeRawBufferPointer(rebasing: output[0..<n]))
                uncompressedSize += Int64(n)
            }
        } catch {
            // Keep hashing: a wrong digest is the clearer report, so it is checked first.
            gzipError = error
            self.inflater = nil
        }
    }

    private(set) var gzipError: GzipError?

    /// Flushes to disk and returns the blob digest, and for gzip layers the diffID and uncompressed size.
    func finish() throws -> (digest: Digest, diffID: Digest?, uncompressedSize: Int64?, gzipError: GzipError?) {
        guard fsync(fd) == 0 else {
            throw RegistryError.local("syncing \(path) failed: \(String(cString: strerror(errno)))")
        }
        let digest = hasher.finalizeDigest()
        if let gzipError { return (digest, nil, nil, gzipError) }
        if let inflater {
            do throws(GzipError) { try inflater.finish() } catch { return (digest, nil, nil, error) }
            return (digest, diffHasher.finalizeDigest(), uncompressedSize, nil)
        }
        return (digest, nil, nil, nil)
    }
}
