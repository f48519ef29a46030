import CZlib
import Foundation

/// zlib inflate of one or more concatenated gzip members (pigz and some tools write several).
/// Pull-style: give it input, then ask for output until it needs more, so memory stays flat
/// whatever the compression ratio.
public final class GzipInflater {
    private var stream = z_stream()
    private var ended = false
    private var started = false
    /// The last call filled the output: zlib may hold more even with no input left.
    private var outputFull = false

    public init() throws(ArchiveError) {
        // 15 + 16: gzip wrapper only; the layer media types promise gzip.
        let status = inflateInit2_(&stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw .compressionFailed("zlib could not start inflating (status \(status))") }
    }

    deinit { inflateEnd(&stream) }

    /// True when all input given so far has been consumed and inflated.
    public var needsInput: Bool { stream.avail_in == 0 && !outputFull }

    /// Sets the next compressed bytes; they must stay valid until `needsInput` is true again.
    public func setInput(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: UInt8.self))
        stream.avail_in = UInt32(bytes.count)
        started = true
    }

    /// Inflates into `output`; returns the bytes produced (0 when more input is needed).
    /// Throws `GzipError` on a stream that is not valid gzip.
    public func inflate(into output: UnsafeMutableRawBufferPointer) throws(GzipError) -> Int {
        guard !needsInput, let base = output.baseAddress, output.count > 0 else { return 0 }
        if ended {
            // Another member follows.
            guard inflateReset(&stream) == Z_OK else { throw GzipError(reason: "zlib could not reset") }
            ended = false
        }
        let room = min(output.count, Int(UInt32.max))
        stream.next_out = base.assumingMemoryBound(to: UInt8.self)
        stream.avail_out = UInt32(room)
        let before = stream.avail_in
        let status = CZlib.inflate(&stream, Z_NO_FLUSH)
        let produced = room - Int(stream.avail_out)
        switch status {
        case Z_STREAM_END: ended = true
        case Z_OK: break
        // No progress possible: fine when only pending output was asked for.
        case Z_BUF_ERROR where produced > 0 || stream.avail_in < before || before == 0: break
        default:
            throw GzipError(reason: stream.msg.map { String(cString: $0) } ?? "zlib status \(status)")
        }
        outputFull = !ended && stream.avail_out == 0
        return produced
    }

    /// Checks that the input ended at the end of a gzip member (call after the last input).
    public func finish() throws(GzipError) {
        guard ended || !started else { throw GzipError(reason: "the gzip stream is truncated") }
        guard started else { throw GzipError(reason: "the stream is empty") }
    }
}

/// A gzip stream that does not inflate.
public struct GzipError: Error, CustomStringConvertible, Sendable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
    public var description: String { "the layer is not valid gzip: \(reason)" }
}
