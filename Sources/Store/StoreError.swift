import OCI

/// Errors of the local content store. Each says what to do next.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case cannotCreate(path: String, reason: String)
    case notALayout(path: String, reason: String)
    case io(path: String, operation: String, errno: Int32)
    case blobMissing(Digest)
    case digestMismatch(expected: Digest, actual: Digest, source: String)
    case sizeMismatch(digest: Digest, expected: Int64, actual: Int64)
    case imageNotFound(String, known: [String])
    case ambiguous(String, matches: [String])
    case invalidName(String, reason: String)
    case corrupt(path: String, reason: String)
    case imageInUse(String, tags: [String])
    /// An OCI layout or docker-archive outside the store that cannot be read as an image.
    case invalidImage(String, reason: String)

    public var description: String {
        switch self {
        case .cannotCreate(let path, let reason):
            return
                "cannot create the image store at \(path): \(reason); choose another place with --store or IMAGEKIT_STORE"
        case .notALayout(let path, let reason):
            return
                "\(path) is not an imagekit store (OCI image layout): \(reason); point --store at an empty or existing store directory"
        case .io(let path, let operation, let code):
            return "\(operation) \(path) failed: \(String(cString: strerror(code)))"
        case .blobMissing(let digest):
            return
                "blob \(digest) is missing from the store; pull or build the image again (or run `imagekit prune` to drop broken images)"
        case .digestMismatch(let expected, let actual, let source):
            return
                "content from \(source) does not match its digest: expected \(expected), got \(actual); nothing was stored"
        case .sizeMismatch(let digest, let expected, let actual):
            return "blob \(digest) has \(actual) bytes, expected \(expected); nothing was stored"
        case .imageNotFound(let name, let known):
            let hint =
                known.isEmpty
                ? "the store has no images yet" : "known images: \(known.prefix(8).joined(separator: ", "))"
            return "image '\(name)' is not in the store (\(hint)); build, import or pull it first"
        case .ambiguous(let prefix, let matches):
            return "'\(prefix)' matches several images (\(matches.joined(separator: ", "))); give more digits or a name"
        case .invalidName(let name, let reason):
            return "invalid image name '\(name)': \(reason)"
        case .corrupt(let path, let reason):
            return "the store file \(path) is damaged: \(reason); remove it or restore the store from a backup"
        case .invalidImage(let what, let reason):
            return "cannot read image \(what): \(reason)"
        case .imageInUse(let image, let tags):
            return "image \(image) is tagged as \(tags.joined(separator: ", ")); remove those tags or use --force"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
