import Foundation
import OCI

/// Checks one image against one policy. Reads the config, then streams the layers once
/// into a `FileIndex` for the filesystem rules and the size breakdown.
public enum Verifier {
    public static let toolVersion = ToolVersion.version

    public static func verify(_ image: ImageSubject, policy: PolicyDocument) throws(PolicyError) -> VerificationReport {
        let index = try LayerScanner.scan(image)
        return evaluate(image, index: index, policy: policy)
    }

    /// Evaluates every configured rule against an already built index.
    public static func evaluate(_ image: ImageSubject, index: FileIndex, policy: PolicyDocument) -> VerificationReport {
        let checks = Checks(image: image, index: index, policy: policy)
        var results: [RuleResult] = []
        for (rule, outcome) in checks.run() {
            let severity = policy.severity(of: rule)
            var result = RuleResult(
                id: rule.id, name: rule.name, severity: severity, status: outcome.status, message: outcome.message,
                summary: rule.summary, help: rule.help, findings: outcome.findings, suppressionReason: nil,
                violation: false)
            if let suppression = policy.suppression(of: rule) {
                result.status = .suppressed
                result.suppressionReason = suppression.reason
            }
            result.violation = result.status == .failed && severity >= policy.failOn
            results.append(result)
        }
        let failed = results.filter { $0.status == .failed }
        let summary = ReportSummary(
            rules: results.count, passed: results.filter { $0.status == .passed }.count, failed: failed.count,
            suppressed: results.filter { $0.status == .suppressed }.count,
            skipped: results.filter { $0.status == .skipped }.count,
            violations: results.filter(\.violation).count, errors: failed.filter { $0.severity == .error }.count,
            warnings: failed.filter { $0.severity == .warning }.count,
            infos: failed.filter { $0.severity == .info }.count)
        let size = SizeReport(
            uncompressedBytes: checks.uncompressed, compressedBytes: checks.compressed,
            maxUncompressedBytes: policy.size?.maxUncompressed, maxCompressedBytes: policy.size?.maxCompressed,
            files: index.fileCount, layers: index.layers, largestDirectories: checks.largestDirectories,
            wastedBytes: index.wastedBytes, largestWaste: index.largestWaste(10))
        return VerificationReport(
            tool: "imagekit", toolVersion: toolVersion,
            image: .init(reference: image.reference, digest: image.digest?.description),
            policy: .init(name: policy.name, file: policy.file, suppressions: policy.suppressions),
            failOn: policy.failOn, passed: summary.violations == 0, summary: summary, results: results, size: size)
    }
}

struct Outcome {
    var status: RuleStatus
    var message: String
    var findings: [Finding] = []

    static func pass(_ message: String) -> Outcome { Outcome(status: .passed, message: message) }
    static func fail(_ message: String, _ findings: [Finding] = []) -> Outcome {
        Outcome(status: .failed, message: message, findings: findings)
    }
    static func skip(_ message: String) -> Outcome { Outcome(status: .skipped, message: message) }
    /// Fails with the findings (message summarising them) or passes with `passed`.
    static func from(_ findings: [Finding], passed: String, failed: (Int) -> String) -> Outcome {
        findings.isEmpty ? .pass(passed) : .fail(failed(findings.count), findings)
    }
}

/// The rule implementations, one method per rule.
struct Checks {
    let image: ImageSubject
    let index: FileIndex
    let policy: PolicyDocument
    let config: ContainerConfig
    let users: UserDatabase
    let uncompressed: Int64
    let compressed: Int64
    /// Computed once: both the size rule and the report show them.
    let largestDirectories: [PathSize]

    init(image: ImageSubject, index: FileIndex, policy: PolicyDocument) {
        self.image = image
        self.index = index
        self.policy = policy
        config = image.config.config
        users = UserDatabase(index: index)
        uncompressed = index.layers.reduce(0) { $0.addingSaturating($1.uncompressedSize) }
        compressed = index.layers.reduce(0) { $0.addingSaturating($1.compressedSize) }
        largestDirectories = index.largestDirectories(10)
    }

    func run() -> [(RuleDefinition, Outcome)] {
        var out: [(RuleDefinition, Outcome)] = []
        if let max = policy.size?.maxUncompressed { out.append((RuleCatalog.sizeUncompressed, sizeUncompressed(max))) }
        if let max = policy.size?.maxCompressed { out.append((RuleCatalog.sizeCompressed, sizeCompressed(max))) }
        if policy.nonRoot == true { out.append((RuleCatalog.userNonRoot, nonRoot())) }
        if let expected = policy.metadata?.user { out.append((RuleCatalog.userExpected, expectedUser(expected))) }
        if let hc = policy.healthcheck {
            out.append((RuleCatalog.healthcheckPresent, healthcheckPresent()))
            if hc.path != nil || hc.onExposedPort {
                out.append((RuleCatalog.healthcheckEndpoint, healthcheckEndpoint(hc)))
            }
            if hc.executable { out.append((RuleCatalog.healthcheckExecutable, healthcheckExecutable())) }
            if !hc.deprecatedPaths.isEmpty {
                out.append((RuleCatalog.healthcheckDeprecated, healthcheckDeprecated(hc)))
            }
        }
        if let ports = policy.metadata?.exposedPorts, !ports.isEmpty {
            out.append((RuleCatalog.portsExposed, exposed(ports)))
        }
        if let ports = policy.metadata?.unexposedPorts, !ports.isEmpty {
            out.append((RuleCatalog.portsForbidden, unexposed(ports)))
        }
        if let secrets = policy.secrets { out.append((RuleCatalog.secrets, self.secrets(secrets))) }
        if let allow = policy.setuid { out.append((RuleCatalog.setuid, setuid(allow.allow))) }
        if let allow = policy.worldWritable { out.append((RuleCatalog.worldWritable, worldWritable(allow.allow))) }
        if !policy.fileExistenceTests.isEmpty {
            out.append((RuleCatalog.fileExistence, fileTests(policy.fileExistenceTests)))
        }
        if let base = policy.baseImage { out.append((RuleCatalog.baseImage, baseImage(base))) }
        if let m = policy.metadata,
            !m.envVars.isEmpty || !m.labels.isEmpty || m.cmd != nil || m.entrypoint != nil || m.workdir != nil
        {
            out.append((RuleCatalog.metadata, metadata(m)))
        }
        return out.sorted { $0.0.id < $1.0.id }
    }

    // MARK: Size

    private func sizeUncompressed(_ max: Int64) -> Outcome {
        guard uncompressed > max else {
            return .pass("\(ByteSize.format(uncompressed)) uncompressed, limit \(ByteSize.format(max))")
        }
        var findings: [Finding] = []
        let layers = index.layers.sorted { $0.uncompressedSize > $1.uncompressedSize }.prefix(3)
        for layer in layers {
            findings.append(
                Finding(
                    "layer \(layer.index + 1): \(ByteSize.format(layer.uncompressedSize)) from \(Report.shortInstruction(layer.createdBy))"
                ))
        }
        for dir in largestDirectories.prefix(3) {
            findings.append(Finding("\(dir.path) holds \(ByteSize.format(dir.bytes))", path: dir.path))
        }
        let wasted = index.wastedBytes
        if wasted > 0 {
            findings.append(Finding("\(ByteSize.format(wasted)) wasted on files a later layer overwrites or deletes"))
        }
        return .fail(
            "\(ByteSize.format(uncompressed)) uncompressed is over the \(ByteSize.format(max)) limit by \(ByteSize.format(uncompressed - max))",
            findings)
    }

    private func sizeCompressed(_ max: Int64) -> Outcome {
        guard compressed > max else {
            return .pass("\(ByteSize.format(compressed)) compressed, limit \(ByteSize.format(max))")
        }
        return .fail(
            "\(ByteSize.format(compressed)) compressed is over the \(ByteSize.format(max)) limit by \(ByteSize.format(compressed - max))"
        )
    }

    // MARK: User

    private var userSpec: String? {
        guard let user = config.user?.trimmingCharacters(in: .whitespaces), !user.isEmpty else { return nil }
        return user
    }

    private func nonRoot() -> Outcome {
        guard let spec = userSpec else {
            return .fail("no USER: the container runs as root; add `USER 1000` to the Dockerfile")
        }
        switch ResolvedUser.resolve(spec, in: users) {
        case .failure(let finding): return .fail(finding.message, [finding])
        case .success(let user):
            if user.uid == 0 { return .fail("USER \(user.display) is root (UID 0)") }
            return .pass("runs as \(user.display), UID \(user.uid)")
        }
    }

    private func expectedUser(_ expected: String) -> Outcome {
        guard let spec = userSpec else { return .fail("no USER: the container runs as root, expected \(expected)") }
        let actual: ResolvedUser
        switch ResolvedUser.resolve(spec, in: users) {
        case .failure(let finding): return .fail(finding.message, [finding])
        case .success(let user): actual = user
        }
        let wantedUser = expected.split(separator: ":", maxSplits: 1).first.map(String.init) ?? expected
        if let uid = UInt32(wantedUser) {
            guard actual.uid == uid else {
                return .fail("USER \(actual.display) is UID \(actual.uid), expected UID \(uid)")
            }
        } else {
            guard actual.name == wantedUser || users.uid(ofName: wantedUser) == actual.uid else {
                return .fail("USER \(actual.display) is not the expected user '\(wantedUser)'")
            }
        }
        if expected.contains(":") {
            let wantedGroup = String(expected.split(separator: ":", maxSplits: 1)[1])
            let gid = UInt32(wantedGroup) ?? users.gid(ofGroup: wantedGroup)
            guard actual.gid == gid else {
                return .fail("USER \(actual.display) has GID \(actual.gid), expected \(wantedGroup)")
            }
        }
        return .pass("USER \(actual.display) is UID \(actual.uid) as expected")
    }

    // MARK: Health check

    private var healthTest: [String]? {
        guard let test = config.healthcheck?.test, let kind = test.first, kind != "NONE", test.count > 1 else {
            return nil
        }
        return test
    }

    private var healthCommand: String? {
        guard let test = healthTest else { return nil }
        return test.dropFirst().joined(separator: " ")
    }

    private func healthcheckPresent() -> Outcome {
        guard let test = config.healthcheck?.test, !test.isEmpty else {
            return .fail(
                "no HEALTHCHECK; add e.g. `HEALTHCHECK CMD curl -fsS http://localhost:8501/_stcore/health || exit 1`")
        }
        if test.first == "NONE" { return .fail("HEALTHCHECK NONE disables the health check (inherited checks too)") }
        guard healthTest != nil, ["CMD", "CMD-SHELL"].contains(test[0]) else {
            return .fail("HEALTHCHECK test \(test) is not CMD or CMD-SHELL with a command")
        }
        return .pass("\(test[0]) \(healthCommand ?? "")")
    }

    /// URLs in the health check command: (port, path).
    private var probedURLs: [(port: Int, path: String, text: String)] {
        guard let command = healthCommand else { return [] }
        let pattern = #"(https?)://([A-Za-z0-9._\-\[\]]+)(?::([0-9]{1,5}))?(/[^\s'"\\)]*)?"#
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = command as NSString
        return regex.matches(in: command, range: NSRange(location: 0, length: ns.length)).map { match in
            let scheme = ns.substring(with: match.range(at: 1))
            let port =
                match.range(at: 3).location != NSNotFound
                ? Int(ns.substring(with: match.range(at: 3))) ?? 0 : (scheme == "https" ? 443 : 80)
            var path = match.range(at: 4).location != NSNotFound ? ns.substring(with: match.range(at: 4)) : "/"
            if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = String(path[..<q]) }
            return (port, path, ns.substring(with: match.range))
        }
    }

    private func healthcheckEndpoint(_ hc: HealthcheckPolicy) -> Outcome {
        guard healthTest != nil else { return .skip("no HEALTHCHECK to inspect (see IK005)") }
        let urls = probedURLs
        guard !urls.isEmpty else {
            return .fail(
                "cannot see the URL the HEALTHCHECK probes in `\(healthCommand ?? "")`; probe http://localhost:PORT\(hc.path ?? "/") explicitly"
            )
        }
        let exposed = Set(config.exposedPortList)
        let good = urls.filter { url in
            (hc.path.map { url.path == $0 } ?? true) && (!hc.onExposedPort || exposed.contains("\(url.port)/tcp"))
        }
        if let first = good.first { return .pass("probes \(first.text)") }
        var findings: [Finding] = []
        for url in urls {
            if let path = hc.path, url.path != path {
                findings.append(Finding("\(url.text) probes \(url.path), expected \(path)"))
            }
            if hc.onExposedPort && !exposed.contains("\(url.port)/tcp") {
                findings.append(
                    Finding(
                        "\(url.text) probes port \(url.port), which the image does not expose (exposed: \(exposed.isEmpty ? "none" : exposed.sorted().joined(separator: ", ")))"
                    ))
            }
        }
        return .fail(findings.first?.message ?? "the HEALTHCHECK does not probe the expected endpoint", findings)
    }

    private func healthcheckDeprecated(_ hc: HealthcheckPolicy) -> Outcome {
        guard healthTest != nil else { return .skip("no HEALTHCHECK to inspect (see IK005)") }
        for url in probedURLs {
            if let deprecated = hc.deprecatedPaths.first(where: { $0.path == url.path }) {
                return .fail(deprecated.message ?? "the HEALTHCHECK probes \(url.path), which is deprecated")
            }
        }
        return .pass("no deprecated endpoint probed")
    }

    private static let shellBuiltins: Set<String> = ["exec", "command", "builtin", "nohup", "timeout"]

    private func healthcheckExecutable() -> Outcome {
        guard let test = healthTest else { return .skip("no HEALTHCHECK to inspect (see IK005)") }
        let user: ResolvedUser
        switch ResolvedUser.resolve(userSpec ?? "0", in: users) {
        case .failure(let finding): return .fail(finding.message, [finding])
        case .success(let resolved): user = resolved
        }
        var programs: [String] = []
        if test[0] == "CMD-SHELL" {
            let shell = config.shell?.first ?? "/bin/sh"
            programs.append(shell)
            var words = Self.shellWords(test[1])
            while let first = words.first,
                first.contains("=") && !first.hasPrefix("=") || Self.shellBuiltins.contains(first)
            { words.removeFirst() }
            if let first = words.first { programs.append(first) }
        } else {
            programs.append(test[1])
        }
        var checked: [String] = []
        for program in programs {
            switch locate(program, user: user) {
            case .success(let description): checked.append(description)
            case .failure(let finding): return .fail(finding.message, [finding])
            }
        }
        return .pass(checked.joined(separator: "; "))
    }

    /// Resolves a program through PATH (from the image's Env) and symlinks, and checks the user may run it.
    private func locate(_ program: String, user: ResolvedUser) -> Result<String, Finding> {
        let env = Dictionary(config.environment.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        var candidates: [String]
        if program.contains("/") {
            candidates = [
                program.hasPrefix("/")
                    ? program : ((config.workingDir ?? "/") as NSString).appendingPathComponent(program)
            ]
        } else {
            let path = env["PATH"] ?? ImageDefaults.path
            candidates = path.split(separator: ":").map { ($0.hasSuffix("/") ? String($0) : $0 + "/") + program }
        }
        for candidate in candidates {
            guard let (real, node) = index.resolve(candidate, implicitDirectories: false) else { continue }
            guard node.kind == .regular || node.kind == .hardlink else { continue }
            let via = real == candidate ? real : "\(candidate) -> \(real)"
            guard user.canExecute(node) else {
                return .failure(
                    Finding(
                        "\(via) is \(FilePermissions.string(kind: node.kind, mode: node.mode)) \(node.uid):\(node.gid); USER \(user.display) cannot execute it",
                        path: real))
            }
            return .success("\(via) is executable by UID \(user.uid)")
        }
        let searched = program.contains("/") ? candidates[0] : "PATH \(env["PATH"] ?? ImageDefaults.path)"
        return .failure(
            Finding(
                "`\(program)`, which the HEALTHCHECK runs, is not in the image (searched \(searched)); install it in the final stage or use a program the image has",
                path: program.hasPrefix("/") ? program : nil))
    }

    /// Splits a shell command into words (quotes removed), up to the first operator.
    static func shellWords(_ command: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for c in command {
            if let q = quote {
                if c == q { quote = nil } else { current.append(c) }
                continue
            }
            if c == "'" || c == "\"" { quote = c; inWord = true; continue }
            if c == " " || c == "\t" || c == "\n" {
                if inWord { words.append(current); current = ""; inWord = false }
                continue
            }
            if ";|&()<>".contains(c) { break }
            current.append(c)
            inWord = true
        }
        if inWord { words.append(current) }
        return words
    }

    // MARK: Ports

    private func exposed(_ wanted: [String]) -> Outcome {
        let have = Set(config.exposedPortList)
        let missing = wanted.filter { !have.contains($0) }
        guard missing.isEmpty else {
            return .fail(
                "not exposed: \(missing.joined(separator: ", ")) (exposed: \(have.isEmpty ? "none" : have.sorted().joined(separator: ", ")))",
                missing.map {
                    Finding("port \($0) is not exposed; add `EXPOSE \($0.replacingOccurrences(of: "/tcp", with: ""))`")
                })
        }
        return .pass("exposes \(wanted.joined(separator: ", "))")
    }

    private func unexposed(_ forbidden: [String]) -> Outcome {
        let have = Set(config.exposedPortList)
        let bad = forbidden.filter { have.contains($0) }
        guard bad.isEmpty else {
            return .fail(
                "forbidden port exposed: \(bad.joined(separator: ", "))",
                bad.map { Finding("port \($0) is exposed; remove its EXPOSE line") })
        }
        return .pass("none of \(forbidden.joined(separator: ", ")) exposed")
    }

    // MARK: Secrets

    private static let valuePatterns: [(String, String)] = [
        (#"\b(AKIA|ASIA)[0-9A-Z]{16}\b"#, "an AWS access key id"),
        (
            #"(?i)aws_?secret[a-z_]*["']?\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"#,
            "an AWS secret access key"
        ),
        (#"-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY( BLOCK)?-----"#, "a private key"),
    ]

    private func secrets(_ policy: SecretsPolicy) -> Outcome {
        var findings: [Finding] = []
        let patterns =
            Self.valuePatterns.compactMap { p, what in (try? NSRegularExpression(pattern: p)).map { ($0, what) } }
            + policy.patterns.compactMap { p in
                (try? NSRegularExpression(pattern: p)).map { ($0, "a value matching `\(p)`") }
            }
        let awsSecretValue = try? NSRegularExpression(pattern: #"^[A-Za-z0-9/+=]{40}$"#)
        var items: [(String, String, String)] = config.environment.map { ("ENV", $0.key, $0.value) }
        items += (config.labels ?? [:]).sorted { $0.key < $1.key }.map { ("LABEL", $0.key, $0.value) }
        for (kind, key, value) in items {
            if policy.allow.contains(where: { Glob.matches($0, key, caseInsensitive: true) }) { continue }
            let lookup = key.replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "-", with: "_")
            if !value.isEmpty, policy.names.contains(where: { Glob.matches($0, lookup, caseInsensitive: true) }) {
                findings.append(
                    Finding("\(kind) \(key) has a value (\(Self.mask(value))): a variable named like a secret"))
                continue
            }
            let ns = value as NSString
            let range = NSRange(location: 0, length: ns.length)
            if lookup.lowercased().contains("aws_secret"), let awsSecretValue,
                awsSecretValue.firstMatch(in: value, range: range) != nil
            {
                findings.append(Finding("\(kind) \(key) holds an AWS secret access key (\(Self.mask(value)))"))
                continue
            }
            for (regex, what) in patterns {
                if let match = regex.firstMatch(in: value, range: range) {
                    findings.append(
                        Finding("\(kind) \(key) holds \(what) (\(Self.mask(ns.substring(with: match.range))))"))
                    break
                }
            }
        }
        return .from(
            findings,
            passed: "no secrets in \(config.environment.count) ENV and \((config.labels ?? [:]).count) LABEL values"
        ) {
            "\($0) secret\($0 == 1 ? "" : "s") in ENV or LABEL: \(findings[0].message)"
        }
    }

    /// Shows only enough of a secret to find it: the first 4 characters of a long value, nothing of a short one.
    static func mask(_ value: String) -> String { value.count >= 16 ? String(value.prefix(4)) + "…" : "…" }

    // MARK: Filesystem

    private func setuid(_ allow: [String]) -> Outcome {
        var findings: [Finding] = []
        for (key, node) in index.liveNodes
        where (node.kind == .regular || node.kind == .hardlink) && node.mode & 0o6000 != 0 {
            let path = "/" + key
            if Glob.allows(allow, path) { continue }
            let what = node.mode & 0o4000 != 0 ? (node.mode & 0o2000 != 0 ? "setuid and setgid" : "setuid") : "setgid"
            findings.append(
                Finding(
                    "\(path) is \(what) (\(FilePermissions.string(kind: node.kind, mode: node.mode)) \(node.uid):\(node.gid))",
                    path: path))
        }
        findings.sort { ($0.path ?? "") < ($1.path ?? "") }
        return .from(findings, passed: "no setuid/setgid files outside the \(allow.count)-entry allowlist") {
            "\($0) setuid/setgid file\($0 == 1 ? "" : "s") outside the allowlist: "
                + findings.prefix(3).compactMap(\.path).joined(separator: ", ") + ($0 > 3 ? ", …" : "")
        }
    }

    private func worldWritable(_ allow: [String]) -> Outcome {
        var findings: [Finding] = []
        for (key, node) in index.liveNodes where node.mode & 0o002 != 0 {
            switch node.kind {
            case .symlink, .characterDevice, .blockDevice: continue
            case .directory where node.mode & 0o1000 != 0: continue
            default: break
            }
            let path = "/" + key
            if Glob.allows(allow, path) { continue }
            findings.append(
                Finding(
                    "\(path) is world-writable (\(FilePermissions.string(kind: node.kind, mode: node.mode)))",
                    path: path))
        }
        findings.sort { ($0.path ?? "") < ($1.path ?? "") }
        return .from(findings, passed: "no world-writable paths outside \(allow.joined(separator: ", "))") {
            "\($0) world-writable path\($0 == 1 ? "" : "s"): "
                + findings.prefix(3).compactMap(\.path).joined(separator: ", ") + ($0 > 3 ? ", …" : "")
        }
    }

    private func fileTests(_ tests: [FileExistenceTest]) -> Outcome {
        var findings: [Finding] = []
        for test in tests {
            let found = index.resolve(test.path)
            guard test.shouldExist else {
                if found != nil {
                    findings.append(Finding("\(test.name): \(test.path) exists but should not", path: test.path))
                }
                continue
            }
            guard let (real, node) = found else {
                findings.append(Finding("\(test.name): \(test.path) does not exist", path: test.path))
                continue
            }
            if let uid = test.uid, node.uid != uid {
                findings.append(
                    Finding("\(test.name): \(real) is owned by UID \(node.uid), expected \(uid)", path: real))
            }
            if let gid = test.gid, node.gid != gid {
                findings.append(Finding("\(test.name): \(real) has GID \(node.gid), expected \(gid)", path: real))
            }
            if let text = test.permissions, let wanted = FilePermissions.parse(text) {
                let actual = FilePermissions.string(kind: node.kind, mode: node.mode)
                if (wanted.type.map { $0 != node.kind.letter } ?? false) || wanted.bits != node.mode & 0o7777 {
                    findings.append(Finding("\(test.name): \(real) is \(actual), expected \(text)", path: real))
                }
            }
            if let who = test.isExecutableBy {
                let ok: Bool
                switch who {
                case "owner": ok = node.mode & 0o100 != 0
                case "group": ok = node.mode & 0o010 != 0
                case "other": ok = node.mode & 0o001 != 0
                case "any": ok = node.mode & 0o111 != 0
                default:
                    switch ResolvedUser.resolve(who, in: users) {
                    case .success(let user): ok = user.canExecute(node)
                    case .failure(let finding): findings.append(finding); continue
                    }
                }
                if !ok {
                    findings.append(
                        Finding(
                            "\(test.name): \(real) (\(FilePermissions.string(kind: node.kind, mode: node.mode))) is not executable by \(who)",
                            path: real))
                }
            }
        }
        return .from(findings, passed: "\(tests.count) file test\(tests.count == 1 ? "" : "s") passed") { _ in
            findings[0].message
        }
    }

    // MARK: Provenance and metadata

    private func baseImage(_ policy: BaseImagePolicy) -> Outcome {
        let labels = config.labels ?? [:]
        if let name = labels[ImageDefaults.baseNameLabel], !name.isEmpty {
            let digest = labels[ImageDefaults.baseDigestLabel].map { " @ \($0)" } ?? ""
            return .pass("base \(name)\(digest) (label \(ImageDefaults.baseNameLabel))")
        }
        if policy.acceptHistory {
            for entry in image.config.history {
                for text in [entry.createdBy, entry.comment].compactMap({ $0 }) {
                    let trimmed = text.trimmingCharacters(in: .whitespaces)
                    if trimmed.uppercased().hasPrefix("FROM ") {
                        return .pass("base recorded in history: \(trimmed)")
                    }
                }
            }
        }
        return .fail(
            "the base image is not recorded: no label \(ImageDefaults.baseNameLabel)\(policy.acceptHistory ? " and no FROM in history" : "")"
        )
    }

    private func metadata(_ m: MetadataTest) -> Outcome {
        var findings: [Finding] = []
        let env = Dictionary(config.environment.map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        func check(_ tests: [KeyValueTest], _ values: [String: String], kind: String) {
            for test in tests {
                let value = values[test.key]
                if !test.shouldExist {
                    if value != nil { findings.append(Finding("\(kind) \(test.key) is set but should not be")) }
                    continue
                }
                guard let value else { findings.append(Finding("\(kind) \(test.key) is not set")); continue }
                guard let expected = test.value else { continue }
                let ok =
                    test.isRegex
                    ? (try? NSRegularExpression(pattern: expected)).map {
                        $0.firstMatch(in: value, range: NSRange(location: 0, length: (value as NSString).length)) != nil
                    } ?? false
                    : value == expected
                if !ok {
                    findings.append(
                        Finding(
                            "\(kind) \(test.key) is '\(value)', expected \(test.isRegex ? "to match " : "")'\(expected)'"
                        ))
                }
            }
        }
        check(m.envVars, env, kind: "ENV")
        check(m.labels, config.labels ?? [:], kind: "LABEL")
        if let cmd = m.cmd, cmd != (config.cmd ?? []) {
            findings.append(Finding("CMD is \(config.cmd ?? []), expected \(cmd)"))
        }
        if let entrypoint = m.entrypoint, entrypoint != (config.entrypoint ?? []) {
            findings.append(Finding("ENTRYPOINT is \(config.entrypoint ?? []), expected \(entrypoint)"))
        }
        if let workdir = m.workdir, workdir != (config.workingDir ?? "") {
            findings.append(Finding("WORKDIR is '\(config.workingDir ?? "")', expected '\(workdir)'"))
        }
        return .from(findings, passed: "config matches metadataTest") { _ in findings[0].message }
    }
}
