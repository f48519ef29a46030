import ConfigFile
import Foundation
import Yams

/// Reads policy YAML into a `PolicyDocument`, refusing unknown keys, wrong types and
/// bad values with `file:line: message`.
public enum PolicyLoader {
    public static func load(file path: String) throws(PolicyError) -> PolicyDocument {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw .policyNotFound(
                path, hint: "give an existing file with --policy, or create it (see policies/README.md)")
        }
        guard !isDir.boolValue else { throw .policyNotFound(path, hint: "it is a directory; give a .yaml file") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw .io(path: path, reason: "cannot be read as UTF-8 text")
        }
        return try parse(text, file: path)
    }

    /// `DIR/default.yaml`, else the directory's only `.yaml` file.
    public static func resolve(directory: String) throws(PolicyError) -> String {
        let fm = FileManager.default
        let candidate = (directory as NSString).appendingPathComponent("default.yaml")
        if fm.fileExists(atPath: candidate) { return candidate }
        let yamls = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter {
            $0.hasSuffix(".yaml") || $0.hasSuffix(".yml")
        }.sorted()
        if yamls.count == 1 { return (directory as NSString).appendingPathComponent(yamls[0]) }
        throw .policyNotFound(
            directory,
            hint: yamls.isEmpty
                ? "the directory has no .yaml policy"
                : "it has no default.yaml and several policies (\(yamls.joined(separator: ", "))); name one with --policy DIR/FILE.yaml"
        )
    }

    public static func parse(_ text: String, file: String) throws(PolicyError) -> PolicyDocument {
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw PolicyError.invalidPolicy(
                    file: file, line: 1, message: "the policy is empty; start with `name:` (see policies/README.md)")
            }
            root = node
        } catch let error as PolicyError {
            throw error
        } catch let error as YamlError {
            throw yamlError(error, file: file, text: text)
        } catch {
            throw .invalidPolicy(file: file, line: 1, message: "not valid YAML: \(error)")
        }
        let reader = ConfigReader(policyFile: file)
        let top = try reader.mapping(
            root,
            allowed: [
                "schemaVersion", "name", "description", "failOn", "size", "user",
                "metadataTest", "healthcheck", "secrets", "setuid", "worldWritable",
                "fileExistenceTests", "baseImage", "rules", "suppress",
            ], what: "the policy")
        if let version = top["schemaVersion"] {
            let value = try reader.int(version, what: "schemaVersion")
            guard value == 1 else {
                throw reader.error(
                    version, "schemaVersion \(value) is not supported; this imagekit reads schemaVersion 1")
            }
        }
        guard let nameNode = top["name"] else {
            throw reader.error(root, "missing `name`: give the policy a name (it appears in reports)")
        }
        var policy = PolicyDocument(name: try reader.string(nameNode, what: "name"), file: file)
        policy.description = try top["description"].map { node throws(PolicyError) in
            try reader.string(node, what: "description")
        }
        if let node = top["failOn"] { policy.failOn = try reader.severity(node, what: "failOn") }

        if let node = top["size"] {
            let m = try reader.mapping(node, allowed: ["maxUncompressed", "maxCompressed"], what: "size")
            var limits = SizeLimits()
            limits.maxUncompressed = try m["maxUncompressed"].map { n throws(PolicyError) in
                try reader.size(n, what: "size.maxUncompressed")
            }
            limits.maxCompressed = try m["maxCompressed"].map { n throws(PolicyError) in
                try reader.size(n, what: "size.maxCompressed")
            }
            policy.size = limits
        }
        if let node = top["user"] {
            let m = try reader.mapping(node, allowed: ["nonRoot"], what: "user")
            policy.nonRoot =
                try m["nonRoot"].map { n throws(PolicyError) in try reader.bool(n, what: "user.nonRoot") } ?? true
        }
        if let node = top["metadataTest"] { policy.metadata = try metadata(node, reader) }
        if let node = top["healthcheck"] { policy.healthcheck = try healthcheck(node, reader) }
        if let node = top["secrets"] {
            let m = try reader.mapping(node, allowed: ["names", "patterns", "allow"], what: "secrets")
            var secrets = SecretsPolicy()
            if let n = m["names"] { secrets.names = try reader.stringList(n, what: "secrets.names") }
            if let n = m["patterns"] {
                secrets.patterns = try reader.stringList(n, what: "secrets.patterns")
                for (index, pattern) in secrets.patterns.enumerated()
                where (try? NSRegularExpression(pattern: pattern)) == nil {
                    throw reader.error(
                        n.sequence?[index] ?? n, "secrets.patterns: '\(pattern)' is not a valid regular expression")
                }
            }
            if let n = m["allow"] { secrets.allow = try reader.stringList(n, what: "secrets.allow") }
            policy.secrets = secrets
        }
        if let node = top["setuid"] { policy.setuid = try allowlist(node, reader, what: "setuid") }
        if let node = top["worldWritable"] { policy.worldWritable = try allowlist(node, reader, what: "worldWritable") }
        if let node = top["fileExistenceTests"] { policy.fileExistenceTests = try fileTests(node, reader) }
        if let node = top["baseImage"] {
            let m = try reader.mapping(node, allowed: ["acceptHistory"], what: "baseImage")
            var base = BaseImagePolicy()
            if let n = m["acceptHistory"] { base.acceptHistory = try reader.bool(n, what: "baseImage.acceptHistory") }
            policy.baseImage = base
        }
        if let node = top["rules"] {
            guard let mapping = node.mapping else {
                throw reader.error(
                    node, "`rules` should be a mapping of rule id to settings, e.g. `IK014: {severity: error}`")
            }
            for (key, value) in mapping {
                let id = try reader.string(key, what: "a rule id")
                guard let rule = RuleCatalog.find(id) else {
                    throw reader.error(
                        key, "unknown rule '\(id)'; known rules: \(RuleCatalog.all.map(\.id).joined(separator: ", "))")
                }
                let m = try reader.mapping(value, allowed: ["severity"], what: "rules.\(id)")
                if let n = m["severity"] {
                    policy.severities[rule.id] = try reader.severity(n, what: "rules.\(id).severity")
                }
            }
        }
        if let node = top["suppress"] {
            guard let sequence = node.sequence else {
                throw reader.error(node, "`suppress` should be a list of {rule, reason}")
            }
            for item in sequence {
                let m = try reader.mapping(item, allowed: ["rule", "reason"], what: "a suppression")
                guard let ruleNode = m["rule"] else {
                    throw reader.error(item, "a suppression needs `rule:` (an id such as IK005)")
                }
                let id = try reader.string(ruleNode, what: "suppress.rule")
                guard let rule = RuleCatalog.find(id) else {
                    throw reader.error(
                        ruleNode,
                        "unknown rule '\(id)' in suppress; known rules: \(RuleCatalog.all.map(\.id).joined(separator: ", "))"
                    )
                }
                let reason =
                    try m["reason"].map { n throws(PolicyError) in try reader.string(n, what: "suppress.reason") } ?? ""
                guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    throw reader.error(
                        m["reason"] ?? item,
                        "suppressing \(rule.id) needs a written `reason:` (it is shown in every report)")
                }
                policy.suppressions.append(Suppression(rule: rule.id, reason: reason))
            }
        }
        return policy
    }

    private static func metadata(_ node: Node, _ reader: ConfigReader<PolicyError>) throws(PolicyError) -> MetadataTest
    {
        let m = try reader.mapping(
            node,
            allowed: ["user", "exposedPorts", "unexposedPorts", "envVars", "labels", "cmd", "entrypoint", "workdir"],
            what: "metadataTest")
        var test = MetadataTest()
        test.user = try m["user"].map { n throws(PolicyError) in try reader.string(n, what: "metadataTest.user") }
        if let n = m["exposedPorts"] { test.exposedPorts = try reader.portList(n, what: "metadataTest.exposedPorts") }
        if let n = m["unexposedPorts"] {
            test.unexposedPorts = try reader.portList(n, what: "metadataTest.unexposedPorts")
        }
        if let n = m["envVars"] { test.envVars = try keyValues(n, reader, what: "metadataTest.envVars") }
        if let n = m["labels"] { test.labels = try keyValues(n, reader, what: "metadataTest.labels") }
        test.cmd = try m["cmd"].map { n throws(PolicyError) in try reader.stringList(n, what: "metadataTest.cmd") }
        test.entrypoint = try m["entrypoint"].map { n throws(PolicyError) in
            try reader.stringList(n, what: "metadataTest.entrypoint")
        }
        test.workdir = try m["workdir"].map { n throws(PolicyError) in
            try reader.string(n, what: "metadataTest.workdir")
        }
        return test
    }

    private static func keyValues(
        _ node: Node, _ reader: ConfigReader<PolicyError>, what: String
    ) throws(PolicyError) -> [KeyValueTest] {
        guard let sequence = node.sequence else { throw reader.error(node, "\(what) should be a list of {key, value}") }
        var out: [KeyValueTest] = []
        for item in sequence {
            let m = try reader.mapping(
                item, allowed: ["key", "value", "isRegex", "shouldExist"], what: "an item of \(what)")
            guard let key = m["key"] else { throw reader.error(item, "an item of \(what) needs `key:`") }
            let value = try m["value"].map { n throws(PolicyError) in try reader.string(n, what: "\(what).value") }
            let isRegex =
                try m["isRegex"].map { n throws(PolicyError) in try reader.bool(n, what: "\(what).isRegex") } ?? false
            if isRegex, let value, (try? NSRegularExpression(pattern: value)) == nil {
                throw reader.error(m["value"]!, "'\(value)' is not a valid regular expression")
            }
            let shouldExist =
                try m["shouldExist"].map { n throws(PolicyError) in try reader.bool(n, what: "\(what).shouldExist") }
                ?? true
            out.append(
                KeyValueTest(
                    key: try reader.string(key, what: "\(what).key"), value: value, isRegex: isRegex,
                    shouldExist: shouldExist))
        }
        return out
    }

    private static func healthcheck(
        _ node: Node, _ reader: ConfigReader<PolicyError>
    ) throws(PolicyError) -> HealthcheckPolicy {
        let m = try reader.mapping(
            node, allowed: ["path", "onExposedPort", "executable", "deprecatedPaths"], what: "healthcheck")
        var policy = HealthcheckPolicy()
        if let n = m["path"] {
            let path = try reader.string(n, what: "healthcheck.path")
            guard path.hasPrefix("/") else {
                throw reader.error(n, "healthcheck.path should start with '/', e.g. /_stcore/health")
            }
            policy.path = path
        }
        if let n = m["onExposedPort"] { policy.onExposedPort = try reader.bool(n, what: "healthcheck.onExposedPort") }
        if let n = m["executable"] { policy.executable = try reader.bool(n, what: "healthcheck.executable") }
        if let n = m["deprecatedPaths"] {
            guard let sequence = n.sequence else {
                throw reader.error(n, "healthcheck.deprecatedPaths should be a list of {path, message}")
            }
            for item in sequence {
                let d = try reader.mapping(item, allowed: ["path", "message"], what: "a deprecated path")
                guard let p = d["path"] else { throw reader.error(item, "a deprecated path needs `path:`") }
                policy.deprecatedPaths.append(
                    DeprecatedPath(
                        path: try reader.string(p, what: "deprecatedPaths.path"),
                        message: try d["message"].map { x throws(PolicyError) in
                            try reader.string(x, what: "deprecatedPaths.message")
                        }))
            }
        }
        return policy
    }

    private static func allowlist(
        _ node: Node, _ reader: ConfigReader<PolicyError>, what: String
    ) throws(PolicyError) -> PathAllowlist {
        let m = try reader.mapping(node, allowed: ["allow"], what: what)
        let allow =
            try m["allow"].map { n throws(PolicyError) in try reader.stringList(n, what: "\(what).allow") } ?? []
        for (index, path) in allow.enumerated() where !path.hasPrefix("/") {
            throw reader.error(
                m["allow"]?.sequence?[index] ?? node, "\(what).allow: '\(path)' should be an absolute path in the image"
            )
        }
        return PathAllowlist(allow: allow)
    }

    private static func fileTests(
        _ node: Node, _ reader: ConfigReader<PolicyError>
    ) throws(PolicyError) -> [FileExistenceTest] {
        guard let sequence = node.sequence else { throw reader.error(node, "fileExistenceTests should be a list") }
        var tests: [FileExistenceTest] = []
        for item in sequence {
            let m = try reader.mapping(
                item, allowed: ["name", "path", "shouldExist", "uid", "gid", "permissions", "isExecutableBy"],
                what: "a file existence test")
            guard let pathNode = m["path"] else { throw reader.error(item, "a file existence test needs `path:`") }
            let path = try reader.string(pathNode, what: "fileExistenceTests.path")
            guard path.hasPrefix("/") else {
                throw reader.error(pathNode, "fileExistenceTests.path should be absolute, e.g. /app")
            }
            var test = FileExistenceTest(
                name: try m["name"].map { n throws(PolicyError) in try reader.string(n, what: "fileExistenceTests.name")
                } ?? path,
                path: path, line: item.mark?.line ?? 1)
            if let n = m["shouldExist"] {
                test.shouldExist = try reader.bool(n, what: "fileExistenceTests.shouldExist")
            }
            if let n = m["uid"] {
                test.uid = UInt32(try reader.int(n, what: "fileExistenceTests.uid", range: 0...4_294_967_294))
            }
            if let n = m["gid"] {
                test.gid = UInt32(try reader.int(n, what: "fileExistenceTests.gid", range: 0...4_294_967_294))
            }
            if let n = m["permissions"] {
                let text = try reader.string(n, what: "fileExistenceTests.permissions")
                guard FilePermissions.parse(text) != nil else {
                    throw reader.error(
                        n,
                        "permissions '\(text)' should look like `drwxr-xr-x` or `-rwxr-xr-x` (as `ls -l` shows) or octal `0755`"
                    )
                }
                test.permissions = text
            }
            if let n = m["isExecutableBy"] {
                test.isExecutableBy = try reader.string(n, what: "fileExistenceTests.isExecutableBy")
            }
            tests.append(test)
        }
        return tests
    }

    private static func yamlError(_ error: YamlError, file: String, text: String) -> PolicyError {
        switch error {
        case .duplicatedKeysInMapping(let duplicates, let context):
            // Yams marks the first occurrence; point at the repeated one, which is what to delete.
            let key = duplicates.first ?? "?"
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let repeated = lines.indices.dropFirst(context.mark.line).first { index in
                let trimmed = lines[index].drop { $0 == " " || $0 == "-" }
                return trimmed.hasPrefix(key + ":") || trimmed.hasPrefix("\"\(key)\":")
            }
            return .invalidPolicy(
                file: file, line: repeated.map { $0 + 1 } ?? context.mark.line,
                message: "`\(key)` appears twice in the same mapping; keep one")
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return .invalidPolicy(
                file: file, line: mark.line, message: "not valid YAML: \(problem) (column \(mark.column))")
        case .reader(let problem, _, _, _):
            return .invalidPolicy(file: file, line: 1, message: "cannot read the file: \(problem)")
        default:
            return .invalidPolicy(file: file, line: 1, message: "not valid YAML: \(error)")
        }
    }
}

enum Ports {
    static func normalize(_ text: String) -> String? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let number = Int(parts[0]), (1...65535).contains(number) else {
            return nil
        }
        let proto = parts.count == 2 ? parts[1].lowercased() : "tcp"
        guard ["tcp", "udp", "sctp"].contains(proto) else { return nil }
        return "\(number)/\(proto)"
    }
}
