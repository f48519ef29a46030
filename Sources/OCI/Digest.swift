import Foundation

/// A content digest, `algorithm:encoded`, as in the OCI image spec ("sha256:" + 64 lowercase hex).
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let algorithm: String
    public let encoded: String

    public init(algorithm: String, encoded: String) {
        self.algorithm = algorithm
        self.encoded = encoded
    }

    /// Parses `sha256:<64 hex>`; only sha256 is accepted (what every registry and tool here uses).
    public init(parsing string: String) throws(OCIError) {
        let parts = string.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw .invalidDigest(string) }
        let (algorithm, encoded) = (parts[0], parts[1])
        guard algorithm == "sha256", encoded.count == 64,
            encoded.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) })
        else { throw .invalidDigest(string) }
        self.init(algorithm: algorithm, encoded: encoded)
    }

    public var description: String { "\(algorithm):\(encoded)" }

    /// The short form Docker shows in listings (12 hex digits).
    public var short: String { String(encoded.prefix(12)) }

    public static func < (lhs: Digest, rhs: Digest) -> Bool { lhs.description < rhs.description }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do { try self.init(parsing: string) } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
