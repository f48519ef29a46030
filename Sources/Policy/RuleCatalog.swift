/// How much a failed rule matters. Ordered: info < warning < error.
public enum Severity: String, Sendable, Codable, CaseIterable, Comparable {
    case info, warning, error

    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
    private var rank: Int { self == .info ? 0 : (self == .warning ? 1 : 2) }

    /// SARIF's name for the level.
    public var sarifLevel: String { self == .info ? "note" : rawValue }
}

/// A rule every policy can enable: a stable id for suppressions and CI annotations.
public struct RuleDefinition: Sendable, Hashable, Codable {
    public let id: String
    public let name: String
    public let severity: Severity
    public let summary: String
    public let help: String

    public var title: String { "\(id) \(name)" }
}

/// The rules imagekit knows. Ids never change meaning; new rules get new ids.
public enum RuleCatalog {
    public static let sizeUncompressed = RuleDefinition(
        id: "IK001", name: "size-uncompressed", severity: .error,
        summary: "The image's uncompressed size is under the limit.",
        help:
            "The uncompressed size is the sum of the layer tars, what `docker images` shows. Look at the largest layers and directories and at the wasted bytes (files a later layer overwrites or deletes still ship in the earlier layer): delete caches in the same RUN that creates them (pip --no-cache-dir, apt-get clean), use a slim base image, copy only what the app needs."
    )
    public static let sizeCompressed = RuleDefinition(
        id: "IK002", name: "size-compressed", severity: .error,
        summary: "The image's compressed size (what a registry stores and bills) is under the limit.",
        help:
            "The compressed size is the sum of the gzip layer blobs. Reduce the uncompressed content first; already-compressed files (wheels, archives, images) do not shrink further."
    )
    public static let userNonRoot = RuleDefinition(
        id: "IK003", name: "user-non-root", severity: .error,
        summary: "The image runs as a non-root user.",
        help:
            "Add `USER 1000` (a numeric UID, so Kubernetes' runAsNonRoot and ECS can check it) after the steps that need root. An image without USER runs as root."
    )
    public static let userExpected = RuleDefinition(
        id: "IK004", name: "user-expected", severity: .error,
        summary: "The image's USER is the expected user.",
        help:
            "Set `USER` to the expected UID. A user given by name is looked up in the image's /etc/passwd; prefer the numeric form so the runtime need not read it."
    )
    public static let healthcheckPresent = RuleDefinition(
        id: "IK005", name: "healthcheck-present", severity: .error,
        summary: "The image has a HEALTHCHECK that is not NONE.",
        help:
            "Add `HEALTHCHECK CMD ...` to the Dockerfile. Docker and ECS use it to restart an unhealthy container and to hold back traffic until it is ready."
    )
    public static let healthcheckEndpoint = RuleDefinition(
        id: "IK006", name: "healthcheck-endpoint", severity: .error,
        summary: "The HEALTHCHECK probes the expected path on an exposed port.",
        help:
            "Point the health check at the application's health endpoint on the port the image exposes, e.g. `HEALTHCHECK CMD curl -fsS http://localhost:8501/_stcore/health || exit 1`."
    )
    public static let healthcheckExecutable = RuleDefinition(
        id: "IK007", name: "healthcheck-executable", severity: .error,
        summary: "The program the HEALTHCHECK runs exists in the image and the image's user can execute it.",
        help:
            "The first word of the health check command is looked up through the PATH in the image's Env, following symlinks inside the image. Install the program (curl, wget, python) in the final stage, or use one the image has, and make it executable by the image's user."
    )
    public static let portsExposed = RuleDefinition(
        id: "IK008", name: "ports-exposed", severity: .error,
        summary: "The expected ports are exposed.",
        help: "Add `EXPOSE <port>` for the port the application listens on; load balancers and `docker run -P` use it.")
    public static let portsForbidden = RuleDefinition(
        id: "IK009", name: "ports-forbidden", severity: .error,
        summary: "No forbidden port (such as SSH, 22) is exposed.",
        help: "Remove the EXPOSE line; a container is entered with `docker exec` or ECS Exec, not SSH.")
    public static let secrets = RuleDefinition(
        id: "IK010", name: "no-secrets", severity: .error,
        summary: "No secrets in ENV or LABEL.",
        help:
            "Anyone who can pull the image can read its ENV and LABEL values (`docker inspect`). Pass secrets at run time (ECS task secrets from Secrets Manager or SSM, `--secret` at build time), then rotate the leaked credential."
    )
    public static let setuid = RuleDefinition(
        id: "IK011", name: "setuid-files", severity: .error,
        summary: "No setuid or setgid files beyond the allowlist.",
        help:
            "A setuid binary lets the unprivileged user become another user. Remove the bit in the Dockerfile (`RUN chmod u-s,g-s FILE`) or add the path to `setuid.allow` with a reason in a comment."
    )
    public static let worldWritable = RuleDefinition(
        id: "IK012", name: "world-writable", severity: .error,
        summary: "No world-writable files or directories outside the allowed places.",
        help:
            "World-writable paths let any process change what the app runs. `RUN chmod o-w PATH`; give the app's own user write access with ownership (`COPY --chown=1000:1000`) instead. Sticky directories (like /tmp) are fine."
    )
    public static let fileExistence = RuleDefinition(
        id: "IK013", name: "file-existence", severity: .error,
        summary: "Files exist (or not) with the expected owner, group and permissions.",
        help:
            "Each entry of `fileExistenceTests` states what a path must look like in the final filesystem; fix the Dockerfile's COPY --chown / chmod / RUN steps accordingly."
    )
    public static let baseImage = RuleDefinition(
        id: "IK014", name: "base-image-recorded", severity: .warning,
        summary: "The image records the base image it was built from.",
        help:
            "The label `org.opencontainers.image.base.name` (and `.base.digest`) lets scanners and rebuild bots know which base to update. `imagekit build` writes it; with other builders add `LABEL org.opencontainers.image.base.name=...`."
    )
    public static let metadata = RuleDefinition(
        id: "IK015", name: "metadata", severity: .error,
        summary: "CMD, ENTRYPOINT, WORKDIR, ENV and LABEL have the expected values.",
        help:
            "Each item of `metadataTest` (container-structure-test's vocabulary) states a value the image's config must have; change the matching Dockerfile instruction."
    )
    public static let healthcheckDeprecated = RuleDefinition(
        id: "IK016", name: "healthcheck-deprecated-path", severity: .warning,
        summary: "The HEALTHCHECK does not use a deprecated endpoint.",
        help:
            "Move the health check to the endpoint the policy names; the deprecated one may disappear in a later version of the application."
    )

    public static let all: [RuleDefinition] = [
        sizeUncompressed, sizeCompressed, userNonRoot, userExpected, healthcheckPresent, healthcheckEndpoint,
        healthcheckExecutable, portsExposed, portsForbidden, secrets, setuid, worldWritable, fileExistence,
        baseImage, metadata, healthcheckDeprecated,
    ]

    /// Finds a rule by id (`IK005`) or name (`healthcheck-present`).
    public static func find(_ key: String) -> RuleDefinition? {
        all.first { $0.id.caseInsensitiveCompare(key) == .orderedSame || $0.name == key }
    }
}
