import OCI

/// What a pull or push reports while it runs. Never carries credentials.
public enum ProgressEvent: Sendable {
    public enum SkipReason: String, Sendable {
        case present = "already present", mounted = "mounted", remote = "left in the registry"
    }

    /// The reference resolved to a manifest (for a pull: the platform's manifest).
    case resolved(reference: String, digest: Digest)
    case blobStarted(digest: Digest, total: Int64)
    /// Bytes done so far for one blob (a running total, not a delta).
    case blobBytes(digest: Digest, completed: Int64, total: Int64)
    case blobDone(digest: Digest)
    case blobSkipped(digest: Digest, reason: SkipReason)
    case retrying(operation: String, attempt: Int, delay: Double, reason: String)
    case manifestPushed(reference: String, digest: Digest)
}

/// Receives progress events; called from several tasks at once, so implementations synchronise.
public protocol ProgressSink: Sendable {
    func report(_ event: ProgressEvent)
}

/// Drops every event.
public struct NoProgress: ProgressSink {
    public init() {}
    public func report(_ event: ProgressEvent) {}
}
