import Foundation

/// Errors of policy loading, image reading and report writing. Each names the file (and the
/// line, for policy files) and says what to do.
public enum PolicyError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A malformed policy file: `policies/x.yaml:LINE: message`.
    case invalidPolicy(file: String, line: Int, message: String)
    case policyNotFound(String, hint: String)
    case invalidSize(String)
    case invalidImage(String, reason: String)
    case unreadableLayer(String, reason: String)
    case io(path: String, reason: String)
    case noImage(String)

    public var description: String {
        switch self {
        case .invalidPolicy(let file, let line, let message):
            return "\(file):\(line): \(message)"
        case .policyNotFound(let path, let hint):
            return "policy \(path) not found: \(hint)"
        case .invalidSize(let text):
            return
                "invalid size '\(text)': write a number with a unit, e.g. 500MB, 1.5GB, 512MiB (B, KB, MB, GB, TB are decimal; KiB, MiB, GiB, TiB binary)"
        case .invalidImage(let what, let reason):
            return "cannot read image \(what): \(reason)"
        case .unreadableLayer(let what, let reason):
            return "cannot read layer \(what): \(reason); the image may be damaged, pull or build it again"
        case .io(let path, let reason):
            return "\(path): \(reason)"
        case .noImage(let hint):
            return "no image to verify: \(hint)"
        }
    }
}
