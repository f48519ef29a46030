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

extension Int64 {
    /// `self + other`, stopping at Int64.max / Int64.min instead of trapping: for totals of
    /// sizes that come from files the tool did not write.
    public func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }
}
