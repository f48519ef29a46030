import OCI

/// Errors talking to a registry. Messages never contain credentials or tokens.
public enum RegistryError: Error, CustomStringConvertible, Sendable {
    case unauthorized(host: String, hint: String)
    case denied(host: String, repository: String, detail: String)
    case notFound(String)
    case unreachable(host: String, reason: String)
    case invalidResponse(host: String, reason: String)
    case digestMismatch(what: String, expected: Digest, actual: Digest)
    case diffIDMismatch(layer: Digest, expected: Digest, actual: Digest)
    case retriesExhausted(operation: String, attempts: Int, lastError: String)
    case httpError(host: String, operation: String, status: Int, detail: String)
    case invalidTag(String)
    case invalidImage(String)
    case credentials(String)
    case local(String)

    public var description: String {
        switch self {
        case .unauthorized(let host, let hint):
            return "\(host) refused the credentials (401 Unauthorized); \(hint)"
        case .denied(let host, let repository, let detail):
            return
                "\(host) denied access to \(repository) (403 Forbidden)\(detail.isEmpty ? "" : ": \(detail)"); check that the credentials may push to or pull from this repository"
        case .notFound(let reference):
            return "\(reference) was not found in the registry (404); check the name and tag"
        case .unreachable(let host, let reason):
            return
                "cannot reach the registry \(host): \(reason); check the host name, the network, and --insecure-registry for plain-http registries"
        case .invalidResponse(let host, let reason):
            return "\(host) sent an invalid response: \(reason)"
        case .digestMismatch(let what, let expected, let actual):
            return "\(what) does not match its digest: expected \(expected), got \(actual); nothing was stored"
        case .diffIDMismatch(let layer, let expected, let actual):
            return
                "layer \(layer) uncompresses to \(actual), but the image config lists \(expected); the image is inconsistent and was not stored"
        case .retriesExhausted(let operation, let attempts, let lastError):
            return
                "\(operation) failed after \(attempts) attempts: \(lastError); run the command again to resume (blobs already uploaded are skipped)"
        case .httpError(let host, let operation, let status, let detail):
            return "\(operation) on \(host) failed with HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .invalidTag(let tag):
            return
                "invalid tag '\(tag)': a tag is 1 to 128 characters of [A-Za-z0-9_.-] and cannot start with '.' or '-'"
        case .invalidImage(let reason):
            return "invalid image: \(reason)"
        case .credentials(let reason):
            return "cannot get registry credentials: \(reason)"
        case .local(let reason):
            return reason
        }
    }
}
