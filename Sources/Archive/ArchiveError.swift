import Foundation
import OCI

/// Errors from writing, reading and extracting layer tarballs. Each message names the file
/// or entry involved and says what to do about it.
public enum ArchiveError: Error, CustomStringConvertible, Sendable, Equatable {
    /// A path that must exist does not (a source file, a layer, a directory to scan).
    case missingPath(String, what: String)
    /// A file exists but could not be opened or read.
    case unreadable(String, reason: String)
    /// A source file's size differs from the size recorded when it was scanned.
    case sourceChanged(String, expected: Int64, actual: Int64)
    /// The layer output file already exists (the writer never overwrites).
    case outputExists(String)
    /// Creating, writing or syncing an output file failed.
    case writeFailed(String, reason: String)
    /// An entry handed to the writer has a path the tar format cannot carry safely.
    case invalidEntry(String, reason: String)
    /// `SOURCE_DATE_EPOCH` is not a non-negative integer number of seconds.
    case invalidSourceDateEpoch(String)
    /// A compression level outside zlib's 0...9.
    case invalidCompressionLevel(Int32)
    /// libarchive refused an operation while writing.
    case tarWriteFailed(layer: String, entry: String, message: String)
    /// The compressed stream of a layer is damaged.
    case corruptLayer(String, detail: String)
    /// The tar stream of a layer ends in the middle of an entry.
    case truncatedLayer(String, detail: String)
    /// An entry would write or link outside the extraction root.
    case unsafeEntry(String, layer: String, reason: String)
    /// Creating an entry on disk failed while extracting.
    case extractFailed(String, layer: String, reason: String)
    /// Walking a directory tree failed.
    case scanFailed(String, reason: String)
    /// A layer's bytes or tar stream do not hash to what its image says (`what`: "digest" or "diffID").
    case digestMismatch(layer: String, what: String, expected: Digest, actual: Digest)
    /// The files of a layer add up to more than extraction allows.
    case extractLimit(layer: String, declared: Int64, limit: Int64, compressedSize: Int64)
    /// `IMAGEKIT_EXTRACT_RATIO` is not a positive whole number.
    case invalidExtractRatio(String)
    /// zlib reported an internal failure.
    case compressionFailed(String)
    /// The API was used out of order (e.g. `add` after `finish`).
    case misuse(String)
    /// An image archive (a docker-archive tar) that cannot be read as one.
    case invalidArchive(String, reason: String)

    public var description: String {
        switch self {
        case .missingPath(let path, let what):
            return
                "\(what) '\(path)' does not exist: check the path (and that it was not removed while the layer was being built)"
        case .unreadable(let path, let reason):
            return "cannot read '\(path)': \(reason); check its permissions"
        case .sourceChanged(let path, let expected, let actual):
            return
                "'\(path)' changed while it was being archived (expected \(expected) bytes, found \(actual)): do not modify the build context during a build, then retry"
        case .outputExists(let path):
            return
                "layer output '\(path)' already exists: the writer never overwrites; remove it or choose another path"
        case .writeFailed(let path, let reason):
            return "cannot write '\(path)': \(reason); check free disk space and permissions"
        case .invalidEntry(let path, let reason):
            return "invalid layer entry '\(path)': \(reason)"
        case .invalidSourceDateEpoch(let value):
            return
                "SOURCE_DATE_EPOCH='\(value)' is not a valid timestamp: set it to a non-negative whole number of seconds since 1970-01-01 (e.g. `git log -1 --format=%ct`), or unset it"
        case .invalidCompressionLevel(let level):
            return "compression level \(level) is out of range: use 0 (none) to 9 (best)"
        case .tarWriteFailed(let layer, let entry, let message):
            return "cannot add '\(entry)' to layer '\(layer)': \(message)"
        case .corruptLayer(let layer, let detail):
            return
                "layer '\(layer)' is corrupt (\(detail)): the file is damaged or not a tar/tar.gz; download or rebuild it"
        case .truncatedLayer(let layer, let detail):
            return "layer '\(layer)' is truncated (\(detail)): the file ends early; download or rebuild it"
        case .unsafeEntry(let entry, let layer, let reason):
            return "refusing '\(entry)' in layer '\(layer)': \(reason); the layer may be malicious, do not use it"
        case .extractFailed(let entry, let layer, let reason):
            return "cannot extract '\(entry)' from layer '\(layer)': \(reason)"
        case .scanFailed(let path, let reason):
            return "cannot scan '\(path)': \(reason)"
        case .digestMismatch(let layer, let what, let expected, let actual):
            return
                "layer '\(layer)' does not match its \(what): expected \(expected), got \(actual); the image is damaged or forged, pull or build it again from a trusted source"
        case .extractLimit(let layer, let declared, let limit, let compressedSize):
            return
                "layer '\(layer)' (\(compressedSize) bytes) declares at least \(declared) bytes of files, more than the extraction limit of \(limit) bytes; if the layer is genuine, raise \(ExtractOptions.ratioVariable) (now \(ExtractOptions.ratio()) times the layer's size, at least \(ExtractOptions.minimumLimit) bytes)"
        case .invalidExtractRatio(let value):
            return
                "\(ExtractOptions.ratioVariable)='\(value)' is not valid: set it to a whole number of times a layer's compressed size that extraction may write (default \(ExtractOptions.defaultRatio)), or unset it"
        case .compressionFailed(let reason):
            return "gzip compression failed: \(reason)"
        case .misuse(let reason):
            return "layer API misuse: \(reason)"
        case .invalidArchive(let path, let reason):
            return "\(path): \(reason)"
        }
    }
}

/// The text of the current `errno`.
func errnoText(_ code: Int32 = errno) -> String {
    String(cString: strerror(code))
}
