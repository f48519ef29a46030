import Foundation

/// Severities of ECR image scan findings, lowest first. Basic scanning says UNDEFINED and
/// enhanced scanning (Amazon Inspector) UNTRIAGED for findings without a rating; both rank
/// below INFORMATIONAL, so no threshold a user can name is reached by them.
public enum ECRScanSeverity: Int, Sendable, Comparable, CaseIterable, CustomStringConvertible {
    case untriaged, informational, low, medium, high, critical

    /// Accepts either service's spelling, in any case.
    public init?(name: String) {
        switch name.uppercased() {
        case "UNDEFINED", "UNTRIAGED": self = .untriaged
        case "INFORMATIONAL", "INFO": self = .informational
        case "LOW": self = .low
        case "MEDIUM": self = .medium
        case "HIGH": self = .high
        case "CRITICAL": self = .critical
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .untriaged: return "UNTRIAGED"
        case .informational: return "INFORMATIONAL"
        case .low: return "LOW"
        case .medium: return "MEDIUM"
        case .high: return "HIGH"
        case .critical: return "CRITICAL"
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The names a user may give as a threshold.
    public static let thresholdNames = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
}

/// One vulnerability, the same whichever scanner found it.
public struct ECRScanFinding: Sendable, Equatable {
    /// CVE or vendor advisory id.
    public var id: String
    public var severity: ECRScanSeverity
    public var package: String?
    public var version: String?
    /// Only enhanced scanning knows the fixed version.
    public var fixedIn: String?
    public var title: String?
    public var uri: String?
    /// CVSS base score when the scanner gives one.
    public var score: Double?

    public init(
        id: String, severity: ECRScanSeverity, package: String? = nil, version: String? = nil, fixedIn: String? = nil,
        title: String? = nil, uri: String? = nil, score: Double? = nil
    ) {
        self.id = id
        self.severity = severity
        self.package = package
        self.version = version
        self.fixedIn = fixedIn
        self.title = title
        self.uri = uri
        self.score = score
    }
}

/// The state of an image's scan as DescribeImageScanFindings reports it.
public enum ECRScanState: Sendable, Equatable {
    /// Findings are final (basic: COMPLETE; enhanced: ACTIVE, i.e. continuously rescanned).
    case complete
    /// Not there yet (IN_PROGRESS, PENDING, or no scan started).
    case pending(String)
    /// Will never give findings (FAILED, UNSUPPORTED_IMAGE, FINDINGS_UNAVAILABLE, ...).
    case failed(String)

    init(status: String) {
        switch status.uppercased() {
        case "COMPLETE", "ACTIVE": self = .complete
        case "IN_PROGRESS", "PENDING", "": self = .pending(status)
        default: self = .failed(status)
        }
    }
}

/// What a finished scan found.
public struct ECRScanResult: Sendable, Equatable {
    public var repository: String
    public var digest: String
    /// "basic" or "enhanced", from the shape of the answer.
    public var scanner: String
    public var counts: [ECRScanSeverity: Int]
    /// Sorted: most severe first, then by id.
    public var findings: [ECRScanFinding]

    public init(
        repository: String, digest: String, scanner: String, counts: [ECRScanSeverity: Int], findings: [ECRScanFinding]
    ) {
        self.repository = repository
        self.digest = digest
        self.scanner = scanner
        self.counts = counts
        self.findings = findings
    }

    /// How many findings are at or above `threshold`.
    public func count(atOrAbove threshold: ECRScanSeverity) -> Int {
        counts.filter { $0.key >= threshold }.reduce(0) { $0 + $1.value }
    }
}

/// One page of DescribeImageScanFindings, both finding shapes decoded into `ECRScanFinding`.
struct ECRScanFindingsPage: Decodable {
    var status: String
    var statusDescription: String?
    var counts: [ECRScanSeverity: Int]
    var findings: [ECRScanFinding]
    var enhanced: Bool
    var nextToken: String?

    private struct Status: Decodable { var status: String?; var description: String? }
    private struct Attribute: Decodable { var key: String; var value: String? }
    private struct Basic: Decodable {
        var name: String?
        var description: String?
        var uri: String?
        var severity: String?
        var attributes: [Attribute]?
    }
    private struct Enhanced: Decodable {
        struct Details: Decodable {
            struct Package: Decodable { var name: String?; var version: String?; var fixedInVersion: String? }
            struct CVSS: Decodable { var baseScore: Double? }
            var vulnerabilityId: String?
            var sourceUrl: String?
            var vulnerablePackages: [Package]?
            var cvss: [CVSS]?
        }
        var severity: String?
        var title: String?
        var score: Double?
        var packageVulnerabilityDetails: Details?
    }
    private struct Findings: Decodable {
        var findings: [Basic]?
        var enhancedFindings: [Enhanced]?
        var findingSeverityCounts: [String: Int]?
    }
    private enum Keys: String, CodingKey { case imageScanStatus, imageScanFindings, nextToken }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let scanStatus = try container.decodeIfPresent(Status.self, forKey: .imageScanStatus)
        status = scanStatus?.status ?? ""
        statusDescription = scanStatus?.description
        nextToken = try container.decodeIfPresent(String.self, forKey: .nextToken)
        let body = try container.decodeIfPresent(Findings.self, forKey: .imageScanFindings)
        enhanced = body?.enhancedFindings != nil
        var counts: [ECRScanSeverity: Int] = [:]
        for (name, count) in body?.findingSeverityCounts ?? [:] {
            if let severity = ECRScanSeverity(name: name) { counts[severity, default: 0] += count }
        }
        self.counts = counts
        findings = (body?.findings ?? []).map { basic in
            let attributes = Dictionary(
                (basic.attributes ?? []).map { ($0.key, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
            return ECRScanFinding(
                id: basic.name ?? "unnamed finding",
                severity: ECRScanSeverity(name: basic.severity ?? "") ?? .untriaged,
                package: attributes["package_name"], version: attributes["package_version"],
                title: basic.description, uri: basic.uri,
                score: attributes["CVSS3_SCORE"].flatMap(Double.init) ?? attributes["CVSS2_SCORE"].flatMap(Double.init))
        }
        findings += (body?.enhancedFindings ?? []).map { item in
            let details = item.packageVulnerabilityDetails
            let package = details?.vulnerablePackages?.first
            return ECRScanFinding(
                id: details?.vulnerabilityId ?? item.title ?? "unnamed finding",
                severity: ECRScanSeverity(name: item.severity ?? "") ?? .untriaged,
                package: package?.name, version: package?.version,
                fixedIn: package?.fixedInVersion.flatMap { $0 == "NotAvailable" || $0.isEmpty ? nil : $0 },
                title: item.title, uri: details?.sourceUrl,
                score: item.score ?? details?.cvss?.compactMap(\.baseScore).max())
        }
    }
}

/// How long to wait for a scan, and how often to ask. Time comes from `now` and passes in
/// `sleep`, both injected so tests run a ten-minute wait in no time.
public struct ECRScanPolling: Sendable {
    public var timeout: TimeInterval
    public var firstDelay: TimeInterval
    public var maxDelay: TimeInterval
    public var now: @Sendable () -> Date
    public var sleep: @Sendable (TimeInterval) async throws -> Void

    public init(
        timeout: TimeInterval = 600, firstDelay: TimeInterval = 2, maxDelay: TimeInterval = 30,
        now: @escaping @Sendable () -> Date = { Date() },
        sleep: @escaping @Sendable (TimeInterval) async throws -> Void = {
            try await Task.sleep(nanoseconds: UInt64($0 * 1_000_000_000))
        }
    ) {
        self.timeout = timeout
        self.firstDelay = firstDelay
        self.maxDelay = maxDelay
        self.now = now
        self.sleep = sleep
    }
}

extension ECRClient {
    /// One page of the image's scan findings. No scan yet: `AWSError.scanNotFound`.
    func describeImageScanFindings(
        repository: String, digest: String, registryId: String?, nextToken: String?
    ) async throws -> ECRScanFindingsPage {
        struct Request: Encodable {
            struct ImageId: Encodable { var imageDigest: String }
            var repositoryName: String
            var imageId: ImageId
            var registryId: String?
            var nextToken: String?
            var maxResults: Int
        }
        let request = Request(
            repositoryName: repository, imageId: .init(imageDigest: digest), registryId: registryId,
            nextToken: nextToken, maxResults: 1000)
        return try await call("DescribeImageScanFindings", request) { failure in
            switch failure.code {
            case "ScanNotFoundException": return .scanNotFound(repository: repository, digest: digest)
            case "RepositoryNotFoundException": return .repositoryNotFound(name: repository, message: failure.message)
            case "ImageNotFoundException":
                return .imageNotFound(repository: repository, digest: digest, message: failure.message)
            default: return nil
            }
        }
    }

    /// Starts a basic scan of the image. Returns false when ECR will not start one now (the image
    /// was scanned in the last 24 hours, or the registry uses enhanced scanning, which scans by itself).
    @discardableResult
    public func startImageScan(repository: String, digest: String, registryId: String? = nil) async throws -> Bool {
        struct Request: Encodable {
            struct ImageId: Encodable { var imageDigest: String }
            var repositoryName: String
            var imageId: ImageId
            var registryId: String?
        }
        struct Response: Decodable {}
        do {
            let _: Response = try await call(
                "StartImageScan",
                Request(
                    repositoryName: repository, imageId: .init(imageDigest: digest),
                    registryId: registryId)
            ) { failure in
                switch failure.code {
                case "UnsupportedImageTypeException":
                    return .scanFailed(
                        repository: repository, digest: digest, status: "UNSUPPORTED_IMAGE", detail: failure.message)
                case "RepositoryNotFoundException":
                    return .repositoryNotFound(name: repository, message: failure.message)
                case "ImageNotFoundException":
                    return .imageNotFound(repository: repository, digest: digest, message: failure.message)
                default: return nil
                }
            }
            return true
        } catch AWSError.service(_, _, let code, _)
            where code == "LimitExceededException" || code == "ValidationException"
        {
            return false
        }
    }

    /// Waits for the image's scan to finish (starting one when none exists) and returns every finding.
    /// Asks again after `firstDelay`, doubling up to `maxDelay`; gives up after `timeout` with
    /// `AWSError.scanTimedOut`.
    public func imageScanFindings(
        repository: String, digest: String, registryId: String? = nil,
        polling: ECRScanPolling = ECRScanPolling()
    ) async throws -> ECRScanResult {
        let deadline = polling.now().addingTimeInterval(polling.timeout)
        var delay = polling.firstDelay
        var startRequested = false
        while true {
            var lastStatus = "no scan yet"
            do {
                let first = try await describeImageScanFindings(
                    repository: repository, digest: digest, registryId: registryId, nextToken: nil)
                lastStatus = first.status
                switch ECRScanState(status: first.status) {
                case .complete:
                    return try await collect(first, repository: repository, digest: digest, registryId: registryId)
                case .failed(let status):
                    throw AWSError.scanFailed(
                        repository: repository, digest: digest, status: status, detail: first.statusDescription ?? "")
                case .pending:
                    break
                }
            } catch AWSError.scanNotFound where !startRequested {
                // Scan on push may not have begun yet; ask for a scan once, then ask for its findings.
                startRequested = true
                try await startImageScan(repository: repository, digest: digest, registryId: registryId)
                continue
            } catch AWSError.scanNotFound {}
            let remaining = deadline.timeIntervalSince(polling.now())
            guard remaining > 0 else {
                throw AWSError.scanTimedOut(
                    repository: repository, digest: digest, seconds: Int(polling.timeout.rounded()),
                    lastStatus: lastStatus)
            }
            try await polling.sleep(min(delay, remaining))
            delay = min(delay * 2, polling.maxDelay)
        }
    }

    private func collect(
        _ first: ECRScanFindingsPage, repository: String, digest: String, registryId: String?
    ) async throws -> ECRScanResult {
        var findings = first.findings
        var enhanced = first.enhanced
        var token = first.nextToken
        var seen: Set<String> = []
        // A token seen before would loop forever; ECR never repeats one.
        while let next = token, seen.insert(next).inserted {
            let page = try await describeImageScanFindings(
                repository: repository, digest: digest, registryId: registryId, nextToken: next)
            findings += page.findings
            enhanced = enhanced || page.enhanced
            token = page.nextToken
        }
        var counts = first.counts
        if counts.isEmpty {
            for finding in findings { counts[finding.severity, default: 0] += 1 }
        }
        findings.sort { ($0.severity, $1.id) > ($1.severity, $0.id) }
        return ECRScanResult(
            repository: repository, digest: digest, scanner: enhanced ? "enhanced" : "basic", counts: counts,
            findings: findings)
    }
}
