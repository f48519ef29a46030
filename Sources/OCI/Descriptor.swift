/// A content descriptor: what a manifest, index or layout says about one blob.
public struct Descriptor: Sendable, Hashable, Codable {
    public var mediaType: String
    public var digest: Digest
    public var size: Int64
    public var annotations: [String: String]?
    public var platform: Platform?
    public var urls: [String]?

    /// The largest blob size accepted (16 TiB): far above any real layer, and small enough that
    /// sums over a manifest's descriptors cannot overflow. Checked when a descriptor is decoded,
    /// so no declared size reaches arithmetic unchecked.
    public static let maxSize: Int64 = 1 << 44

    enum CodingKeys: String, CodingKey { case mediaType, digest, size, annotations, platform, urls }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        mediaType = try container.decode(String.self, forKey: .mediaType)
        digest = try container.decode(Digest.self, forKey: .digest)
        size = try container.decode(Int64.self, forKey: .size)
        guard size >= 0, size <= Self.maxSize else {
            throw DecodingError.dataCorruptedError(
                forKey: .size, in: container,
                debugDescription: "blob \(digest) declares a size of \(size) bytes, outside 0...\(Self.maxSize)")
        }
        annotations = try container.decodeIfPresent([String: String].self, forKey: .annotations)
        platform = try container.decodeIfPresent(Platform.self, forKey: .platform)
        urls = try container.decodeIfPresent([String].self, forKey: .urls)
    }

    public init(
        mediaType: String, digest: Digest, size: Int64, annotations: [String: String]? = nil, platform: Platform? = nil,
        urls: [String]? = nil
    ) {
        self.mediaType = mediaType
        self.digest = digest
        self.size = size
        self.annotations = annotations
        self.platform = platform
        self.urls = urls
    }
}

/// `os/architecture[/variant]`, as used in indexes and `--platform`.
public struct Platform: Sendable, Hashable, Codable, CustomStringConvertible {
    public var os: String
    public var architecture: String
    public var variant: String?
    public var osVersion: String?
    public var osFeatures: [String]?

    enum CodingKeys: String, CodingKey {
        case os, architecture, variant
        case osVersion = "os.version"
        case osFeatures = "os.features"
    }

    public init(os: String, architecture: String, variant: String? = nil) {
        self.os = os
        self.architecture = architecture
        self.variant = variant
    }

    public static let linuxAMD64 = Platform(os: "linux", architecture: "amd64")

    /// Parses `linux/amd64`, `linux/arm64/v8`; only what this tool can build is accepted by callers.
    public init(parsing text: String) throws(OCIError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard (2...3).contains(parts.count), parts.allSatisfy({ !$0.isEmpty }) else {
            throw .invalidReference(text, reason: "a platform is os/architecture[/variant], e.g. linux/amd64")
        }
        self.init(os: parts[0], architecture: parts[1], variant: parts.count == 3 ? parts[2] : nil)
    }

    public var description: String { [os, architecture, variant].compactMap { $0 }.joined(separator: "/") }

    /// Index entries match when os and architecture agree and the variant, if asked for, agrees.
    public func matches(_ other: Platform) -> Bool {
        os == other.os && architecture == other.architecture
            && (variant == nil || other.variant == nil || variant == other.variant)
    }
}

extension Int64 {
    /// `self + other`, stopping at Int64.max / Int64.min instead of trapping: for totals of
    /// sizes that come from files the tool did not write.
    public func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
