/// Errors about image data itself: digests, references, manifests and configs.
public enum OCIError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalidDigest(String)
    case invalidReference(String, reason: String)
    case invalidTag(String)
    case invalidJSON(what: String, reason: String)
    case unsupportedMediaType(String)
    case noMatchingPlatform(wanted: String, available: [String])

    public var description: String {
        switch self {
        case .invalidDigest(let s):
            return "invalid digest '\(s)': expected sha256: followed by 64 lowercase hex digits"
        case .invalidReference(let s, let reason):
            return "invalid image reference '\(s)': \(reason)"
        case .invalidTag(let t):
            return "invalid tag '\(t)': a tag is 1 to 128 characters of [A-Za-z0-9_.-] and cannot start with '.' or '-'"
        case .invalidJSON(let what, let reason):
            return "invalid \(what): \(reason)"
        case .unsupportedMediaType(let m):
            return "unsupported media type '\(m)'"
        case .noMatchingPlatform(let wanted, let available):
            return "no image for platform \(wanted) in the index (it has: \(available.joined(separator: ", ")))"
        }
    }
}
