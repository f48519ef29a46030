import CZlib
import Foundation

/// A deterministic, optionally parallel gzip writer (pigz's method).
///
/// The input is cut into fixed-size blocks whatever the thread count. Each block is raw
/// deflate primed with the previous block's last 32 KiB as dictionary and ended with
/// Z_SYNC_FLUSH (the last with Z_FINISH), so the concatenation is one standard deflate
/// stream and the bytes depend only on the input, the level and the block size. The header
/// is fixed (MTIME 0, XFL 0, OS 255, as Go's compress/gzip writes it); CRCs are combined
/// with `crc32_combine`. At most `2 * threads` blocks are in flight, so memory is bounded.
final class GzipCompressor: @unchecked Sendable {
    /// Fixed (never derived from the thread count) so the output is the same on every machine;
    /// small enough that the blocks in flight stay a few MiB.
    static let blockSize = 1 << 18
    static let dictionarySize = 32 * 1024
    static let header: [UInt8] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]

    /// One block's work; fields after `last` are written by a worker under `condition`.
    final class Job: @unchecked Sendable {
        let input: [UInt8]
        let dictionary: [UInt8]
        let last: Bool
        var output: [UInt8] = []
        var crc: uLong = 0
        var failure: String?
        var done = false

        init(input: [UInt8], dictionary: [UInt8], last: Bool) {
            self.input = input
            self.dictionary = dictionary
            self.last = last
        }
    }

    private let level: Int32
    private let threads: Int
    private let sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void

    // Producer-side state (only touched by the thread calling write/finish).
    private var current: [UInt8] = []
    private var previousTail: [UInt8] = []
    private var crc: uLong = 0
    private var totalIn: UInt64 = 0
    private var headerWritten = false
    private var pending: [Job] = []
    private var inlineStream: DeflateStream?
    /// The most blocks ever held at once (queued, compressing or waiting to be written).
    private(set) var peakInFlight = 0

    // Shared with the workers; the workers do not retain the compressor, so dropping an
    // unfinished compressor still stops them.
    private let work = WorkQueue()

    init(
        level: Int32, threads: Int, sink: @escaping (UnsafeRawBufferPointer) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        guard (0...9).contains(level) else { throw .invalidCompressionLevel(level) }
        self.level = level
        self.threads = max(1, threads)
        self.sink = sink
        crc = crc32(0, nil, 0)
        current.reserveCapacity(Self.blockSize)
        if self.threads == 1 {
            inlineStream = try DeflateStream(level: level)
        } else {
            for index in 0..<self.threads {
                let thread = Thread { [work, level] in work.run(level: level) }
                thread.name = "gzip-\(index)"
                thread.start()
            }
        }
    }

    deinit { stopWorkers() }

    func write(_ buffer: UnsafeRawBufferPointer) throws(ArchiveError) {
        var offset = 0
        while offset < buffer.count {
            let n = min(Self.blockSize - current.count, buffer.count - offset)
            current.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + n)]))
            offset += n
            if current.count == Self.blockSize { try submit(last: false) }
        }
    }

    /// Compresses what is left, writes the trailer and stops the workers.
    func finish() throws(ArchiveError) {
        defer { stopWorkers() }
        try submit(last: true)
        while !pending.isEmpty { try emitOldest() }
        var trailer = [UInt8]()
        let c = UInt32(truncatingIfNeeded: crc)
        let size = UInt32(truncatingIfNeeded: totalIn)
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: c >> UInt32(shift))) }
        for shift in stride(from: 0, to: 32, by: 8) { trailer.append(UInt8(truncatingIfNeeded: size >> UInt32(shift))) }
        try emit(trailer)
    }

    private func submit(last: Bool) throws(ArchiveError) {
        let block = current
        current = []
        current.reserveCapacity(Self.blockSize)
        let job = Job(input: block, dictionary: previousTail, last: last)
        previousTail =
            block.count >= Self.dictionarySize
            ? Array(block.suffix(Self.dictionarySize))
            : Array((previousTail + block).suffix(Self.dictionarySize))
        totalIn += UInt64(block.count)
        pending.append(job)
        peakInFlight = max(peakInFlight, pending.count)
        if let stream = inlineStream {
            stream.compress(job)
            job.done = true
            try emitOldest()
            return
        }
        work.enqueue(job)
        while pending.count > 2 * threads { try emitOldest() }
    }

    private func emitOldest() throws(ArchiveError) {
        let job = pending.removeFirst()
        work.wait(for: job)
        if let failure = job.failure { throw .compressionFailed(failure) }
        if !headerWritten {
            headerWritten = true
            try emit(Self.header)
        }
        crc = crc32_combine(crc, job.crc, off_t(job.input.count))
        try emit(job.output)
    }

    private func stopWorkers() { work.stop() }

    private func emit(_ bytes: [UInt8]) throws(ArchiveError) {
        var failure: ArchiveError?
        bytes.withUnsafeBytes { buffer in
            do throws(ArchiveError) { try sink(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// Jobs waiting for a compression thread, and the signal that one is done.
final class WorkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [GzipCompressor.Job] = []
    private var stopping = false

    func enqueue(_ job: GzipCompressor.Job) {
        condition.lock()
        queue.append(job)
        condition.signal()
        condition.unlock()
    }

    func wait(for job: GzipCompressor.Job) {
        condition.lock()
        while !job.done { condition.wait() }
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }

    /// A worker thread's body: compress jobs until stopped.
    func run(level: Int32) {
        let stream: DeflateStream?
        var setupFailure: String?
        do { stream = try DeflateStream(level: level) } catch { stream = nil; setupFailure = error.description }
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                return
            }
            let job = queue.removeFirst()
            condition.unlock()
            if let stream { stream.compress(job) } else { job.failure = setupFailure }
            condition.lock()
            job.done = true
            condition.broadcast()
            condition.unlock()
        }
    }
}

/// A raw deflate stream reused for many blocks (one per thread).
final class DeflateStream {
    private var stream = z_stream()

    init(level: Int32) throws(ArchiveError) {
        let rc = deflateInit2_(
            &stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
            zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .compressionFailed("deflateInit2 returned \(rc)") }
    }

    deinit { deflateEnd(&stream) }

    func compress(_ job: GzipCompressor.Job) {
        job.crc = job.input.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) }
        guard deflateReset(&stream) == Z_OK else { job.failure = "deflateReset failed"; return }
        if !job.dictionary.isEmpty {
            let rc = job.dictionary.withUnsafeBufferPointer {
                deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count))
            }
            guard rc == Z_OK else { job.failure = "deflateSetDictionary returned \(rc)"; return }
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(job.input.count))) + 64)
        var produced = 0
        let flush = job.last ? Z_FINISH : Z_SYNC_FLUSH
        var failure: String?
        job.input.withUnsafeBufferPointer { input in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
            stream.avail_in = uInt(input.count)
            while true {
                if produced == output.count { output.append(contentsOf: [UInt8](repeating: 0, count: 64 * 1024)) }
                let room = output.count - produced
                let rc: Int32 = output.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress! + produced
                    stream.avail_out = uInt(room)
                    return deflate(&stream, flush)
                }
                produced += room - Int(stream.avail_out)
                if rc == Z_STREAM_END { break }
                if rc != Z_OK && rc != Z_BUF_ERROR { failure = "deflate returned \(rc)"; break }
                // Z_SYNC_FLUSH is complete once input is consumed and output space was left over.
                if !job.last && stream.avail_in == 0 && stream.avail_out > 0 { break }
            }
            stream.next_in = nil
        }
        if let failure { job.failure = failure; return }
        output.removeLast(output.count - produced)
        job.output = output
    }
}
