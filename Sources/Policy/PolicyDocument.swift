import Foundation

/// A policy file, parsed and checked. Sections left out are rules not applied.
/// The schema is documented in `policies/README.md`.
public struct PolicyDocument: Sendable {
    /// The file it came from, as given (for messages and reports); nil for flag-only policies.
    public var file: String?
    public var name: String
    public var description: String?
    /// Findings of this severity or worse fail verification (exit 1).
    public var failOn: Severity = .error
    public var size: SizeLimits?
    public var nonRoot: Bool?
    public var metadata: MetadataTest?
    public var healthcheck: HealthcheckPolicy?
    public var secrets: SecretsPolicy?
    public var setuid: PathAllowlist?
    public var worldWritable: PathAllowlist?
    public var fileExistenceTests: [FileExistenceTest] = []
    public var baseImage: BaseImagePolicy?
    /// Per-rule severity overrides (`rules: {IK014: {severity: error}}`).
    public var severities: [String: Severity] = [:]
    public var suppressions: [Suppression] = []

    public init(name: String, file: String? = nil) {
        self.name = name
        self.file = file
    }

    public func severity(of rule: RuleDefinition) -> Severity { severities[rule.id] ?? rule.severity }
    public func suppression(of rule: RuleDefinition) -> Suppression? { suppressions.first { $0.rule == rule.id } }
}

public struct SizeLimits: Sendable {
    public var maxUncompressed: Int64?
    public var maxCompressed: Int64?
    public init(maxUncompressed: Int64? = nil, maxCompressed: Int64? = nil) {
        self.maxUncompressed = maxUncompressed
        self.maxCompressed = maxCompressed
    }
}

/// A key/value expectation, as container-structure-test's `envVars` and `labels`.
public struct KeyValueTest: Sendable {
    public var key: String
    public var value: String?
    public var isRegex: Bool
    /// False: the key must be absent.
    public var shouldExist: Bool
}

/// container-structure-test's `metadataTest`.
public struct MetadataTest: Sendable {
    public var user: String?
    public var exposedPorts: [String] = []
    public var unexposedPorts: [String] = []
    public var envVars: [KeyValueTest] = []
    public var labels: [KeyValueTest] = []
    public var cmd: [String]?
    public var entrypoint: [String]?
    public var workdir: String?
}

public struct HealthcheckPolicy: Sendable {
    /// The HTTP path the check must probe, e.g. `/_stcore/health`.
    public var path: String?
    /// The probed port must be one the image exposes.
    public var onExposedPort: Bool = true
    /// The program it runs must exist and be executable by the image's user.
    public var executable: Bool = true
    /// Paths that still work but draw a warning (IK016), with the message to show.
    public var deprecatedPaths: [DeprecatedPath] = []
}

public struct DeprecatedPath: Sendable {
    public var path: String
    public var message: String?
}

public struct SecretsPolicy: Sendable {
    /// Variable/label names matching these globs (case-insensitive) must be empty.
    public var names: [String] = SecretsPolicy.defaultNames
    /// Extra regular expressions matched against values.
    public var patterns: [String] = []
    /// Names allowed despite matching (e.g. `PIP_INDEX_TOKEN_URL`).
    public var allow: [String] = []

    public static let defaultNames = [
        "*_PASSWORD", "*_PASSWD", "*_SECRET", "*_SECRET_KEY", "*_TOKEN", "*_API_KEY", "*_APIKEY", "*_PRIVATE_KEY",
        "PASSWORD", "SECRET", "TOKEN", "API_KEY",
    ]
}

/// A list of image paths (globs: `*` within one component, `**` across components).
public struct PathAllowlist: Sendable {
    public var allow: [String]
}

/// container-structure-test's `fileExistenceTests` entry.
public struct FileExistenceTest: Sendable {
    public var name: String
    public var path: String
    public var shouldExist: Bool = true
    public var uid: UInt32?
    public var gid: UInt32?
    /// `drwxr-xr-x`-style string (as `ls -l` and container-structure-test show) or octal `0755`.
    public var permissions: String?
    /// `owner`, `group`, `other`, `any`, or a user (`1000`, `app`) resolved like USER.
    public var isExecutableBy: String?
    public var line: Int
}

public struct BaseImagePolicy: Sendable {
    /// Accept a history entry naming the base (`FROM ...`) when the label is missing.
    public var acceptHistory: Bool = true
}

/// A rule switched off for this policy; the reason is required and shown in every report.
public struct Suppression: Sendable, Codable, Hashable {
    public var rule: String
    public var reason: String
}
