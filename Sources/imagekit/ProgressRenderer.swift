import ArgumentParser
import Foundation
import OCI
import Registry
import Store

/// Renders progress on stderr: one live status line on a terminal, plain lines otherwise.
final class ProgressRenderer: ProgressSink, @unchecked Sendable {
    private let lock = NSLock()
    private let live: Bool
    private let quiet: Bool
    private let verb: String
    private var totals: [Digest: Int64] = [:]
    private var done: [Digest: Int64] = [:]
    private var finished = 0
    private var skipped = 0
    private var lastDraw = Date.distantPast

    init(options: ProgressOptions, verb: String) {
        live = options.live
        quiet = options.quiet
        self.verb = verb
    }

    func report(_ event: ProgressEvent) {
        guard !quiet else { return }
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .resolved(let reference, let digest):
            line("\(reference): resolved to \(digest)")
        case .blobStarted(let digest, let total):
            totals[digest] = total
            done[digest] = 0
            if !live { line("\(digest.short): \(verb) \(ByteFormat.human(total))") }
        case .blobBytes(let digest, let completed, _):
            done[digest] = completed
        case .blobDone(let digest):
            finished += 1
            done[digest] = totals[digest] ?? done[digest]
            if !live { line("\(digest.short): done") }
        case .blobSkipped(let digest, let reason):
            skipped += 1
            if !live { line("\(digest.short): \(reason.rawValue)") }
        case .retrying(let operation, let attempt, let delay, let reason):
            line("\(operation): attempt \(attempt) failed (\(reason)); retrying in \(String(format: "%.1f", delay))s")
        case .manifestPushed(let reference, let digest):
            line("\(reference): pushed \(digest)")
        }
        if live { drawStatus(force: false) }
    }

    /// Ends the live status line.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard live, !quiet else { return }
        drawStatus(force: true)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func drawStatus(force: Bool) {
        let now = Date()
        guard force || now.timeIntervalSince(lastDraw) > 0.1 else { return }
        lastDraw = now
        let total = totals.values.reduce(0, +)
        let sent = done.values.reduce(0, +)
        let status =
            "\(verb): \(finished)/\(totals.count) blobs, \(ByteFormat.human(sent))/\(ByteFormat.human(total)), \(skipped) skipped"
        FileHandle.standardError.write(Data("\r\u{1B}[K\(status)".utf8))
    }

    private func line(_ text: String) {
        FileHandle.standardError.write(Data(((live ? "\r\u{1B}[K" : "") + text + "\n").utf8))
    }
}
