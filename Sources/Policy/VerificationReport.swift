import Foundation

public enum RuleStatus: String, Sendable, Codable {
    case passed, failed, suppressed
    /// The rule could not apply (e.g. no HEALTHCHECK to inspect); another rule reports why.
    case skipped
}

/// One problem a rule found; `path` is a path in the image when the problem is a file.
public struct Finding: Sendable, Codable, Hashable, Error {
    public var message: String
    public var path: String?

    public init(_ message: String, path: String? = nil) {
        self.message = message
        self.path = path
    }
}

public struct RuleResult: Sendable, Codable {
    public var id: String
    public var name: String
    public var severity: Severity
    public var status: RuleStatus
    /// One line: what was found (failed) or what was checked (passed).
    public var message: String
    public var summary: String
    public var help: String
    public var findings: [Finding]
    public var suppressionReason: String?
    /// True when this result fails verification (failed, severity at or above `failOn`).
    public var violation: Bool

    public var title: String { "\(id) \(name)" }
}

public struct SizeReport: Sendable, Codable {
    public var uncompressedBytes: Int64
    public var compressedBytes: Int64
    public var maxUncompressedBytes: Int64?
    public var maxCompressedBytes: Int64?
    public var files: Int
    public var layers: [LayerFigures]
    public var largestDirectories: [PathSize]
    public var wastedBytes: Int64
    public var largestWaste: [PathSize]
}

public struct ReportSummary: Sendable, Codable {
    public var rules: Int
    public var passed: Int
    public var failed: Int
    public var suppressed: Int
    public var skipped: Int
    public var violations: Int
    public var errors: Int
    public var warnings: Int
    public var infos: Int
}

/// Everything `imagekit verify` found; the JSON report is this value (docs/verify-json.md).
public struct VerificationReport: Sendable, Codable {
    public struct ImageInfo: Sendable, Codable {
        public var reference: String
        public var digest: String?
    }
    public struct PolicyInfo: Sendable, Codable {
        public var name: String
        public var file: String?
        public var suppressions: [Suppression]
    }

    public var schemaVersion = 1
    public var tool: String
    public var toolVersion: String
    public var image: ImageInfo
    public var policy: PolicyInfo
    public var failOn: Severity
    public var passed: Bool
    public var summary: ReportSummary
    public var results: [RuleResult]
    public var size: SizeReport

    public var exitCode: Int32 { passed ? 0 : 1 }
}
