import ConfigFile
import Foundation
import Yams

/// `imagekit.yaml`: the project's defaults, so that `imagekit build`, `imagekit verify` and
/// `imagekit push --tag $SHA` work with no other arguments in the project root. Flags override it.
///
///     image: vibejudge-dashboard
///     build: { dockerfile: Dockerfile, context: ., args: { BASE_IMAGE: python:3.12-slim }, target: runtime, format: docker }
///     verify: { policy: policies/default.yaml, maxSize: 500MB }
///     push:
///       repository: ecr://vibejudge-dashboard
///       tags: [latest]
///       sam: { config: samconfig.toml, env: dev, parameter: ImageUri }
///       scan: { fail-on: CRITICAL, timeout: 15m, report: ecr-scan.sarif }
public struct ProjectFile: Sendable, Equatable {
    public static let fileName = "imagekit.yaml"

    public struct Build: Sendable, Equatable {
        public var dockerfile: String?
        public var context: String?
        public var args: [String: String] = [:]
        public var target: String?
        public var platform: String?
        public var format: String?
        public var tags: [String] = []
        /// The registry build cache (`--cache-from` and `--cache-to`), e.g. ecr://app:buildcache.
        public var cache: String?
    }

    public struct Verify: Sendable, Equatable {
        public var policy: String?
        public var maxSize: String?
        public var maxCompressedSize: String?
    }

    public struct SAM: Sendable, Equatable {
        public var config: String = "samconfig.toml"
        public var env: String = "default"
        public var parameter: String = "ImageUri"
    }

    /// `push.scan`: wait for the ECR image scan after a push and fail on findings at or above `failOn`.
    public struct Scan: Sendable, Equatable {
        public static let severities = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
        public var failOn: String = "CRITICAL"
        /// Seconds to wait for the scan to complete.
        public var timeout: Int?
        /// Where to write the findings as SARIF.
        public var report: String?

        /// A duration as seconds: "600", "90s" or "15m".
        public static func seconds(_ text: String) -> Int? {
            let unit = text.last.map { $0 == "s" ? 1 : $0 == "m" ? 60 : 0 } ?? 0
            let number = unit == 0 ? Substring(text) : text.dropLast()
            guard let value = Int(number), value >= 0 else { return nil }
            return value * max(unit, 1)
        }
    }

    public struct Push: Sendable, Equatable {
        public var repository: String?
        public var tags: [String] = []
        public var sam: SAM?
        public var cfnParameters: String?
        public var cfnParameter: String?
        public var ecsTaskDefinition: String?
        public var container: String?
        public var createRepository: Bool = false
        public var region: String?
        public var scan: Scan?
    }

    /// The directory holding the file; relative paths in it are relative to this.
    public var directory: URL
    public var image: String?
    public var build = Build()
    public var verify = Verify()
    public var push = Push()

    public init(directory: URL) { self.directory = directory }

    /// The project file in `directory`, if there is one.
    public static func find(in directory: URL) throws(ProjectError) -> ProjectFile? {
        let url = directory.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try load(url)
    }

    public static func load(_ url: URL) throws(ProjectError) -> ProjectFile {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw .unreadable(file: url.path, reason: (error as NSError).localizedDescription)
        }
        return try parse(text, file: url.lastPathComponent, directory: url.deletingLastPathComponent())
    }

    public static func parse(_ text: String, file: String, directory: URL) throws(ProjectError) -> ProjectFile {
        let root: Node?
        do { root = try Yams.compose(yaml: text) } catch let error as YamlError {
            throw syntaxError(error, file: file)
        } catch {
            throw .syntax(file: file, line: 1, message: "\(error)")
        }
        guard let root else { return ProjectFile(directory: directory.standardizedFileURL) }
        do { return try read(root, file: file, directory: directory) } catch let error as ProjectError {
            throw error
        } catch {
            throw .invalid(file: file, line: 1, message: "\(error)")
        }
    }

    private static func read(_ root: Node, file: String, directory: URL) throws -> ProjectFile {
        var project = ProjectFile(directory: directory.standardizedFileURL)
        let reader = ConfigReader(projectFile: file)
        let top = try reader.mapping(root, allowed: ["image", "build", "verify", "push"], what: "the project file")
        project.image = try top["image"].map { try reader.string($0, what: "image") }
        if let node = top["build"] {
            let m = try reader.mapping(
                node, allowed: ["dockerfile", "context", "args", "target", "platform", "format", "tags", "cache"],
                what: "build")
            project.build.dockerfile = try m["dockerfile"].map { try reader.string($0, what: "build.dockerfile") }
            project.build.context = try m["context"].map { try reader.string($0, what: "build.context") }
            project.build.args = try m["args"].map { try reader.stringMap($0, what: "build.args") } ?? [:]
            project.build.target = try m["target"].map { try reader.string($0, what: "build.target") }
            project.build.platform = try m["platform"].map { try reader.string($0, what: "build.platform") }
            project.build.format = try m["format"].map {
                try reader.oneOf($0, what: "build.format", ["docker", "oci"])
            }
            project.build.tags = try m["tags"].map { try reader.stringList($0, what: "build.tags") } ?? []
            project.build.cache = try m["cache"].map { try reader.string($0, what: "build.cache") }
        }
        if let node = top["verify"] {
            let m = try reader.mapping(node, allowed: ["policy", "maxSize", "maxCompressedSize"], what: "verify")
            project.verify.policy = try m["policy"].map { try reader.string($0, what: "verify.policy") }
            project.verify.maxSize = try m["maxSize"].map { try reader.string($0, what: "verify.maxSize") }
            project.verify.maxCompressedSize = try m["maxCompressedSize"].map {
                try reader.string($0, what: "verify.maxCompressedSize")
            }
        }
        if let node = top["push"] {
            let m = try reader.mapping(
                node,
                allowed: [
                    "repository", "tags", "sam", "cfnParameters", "cfnParameter", "ecsTaskDefinition", "container",
                    "createRepository", "region", "scan",
                ], what: "push")
            project.push.repository = try m["repository"].map { try reader.string($0, what: "push.repository") }
            project.push.tags = try m["tags"].map { try reader.stringList($0, what: "push.tags") } ?? []
            project.push.cfnParameters = try m["cfnParameters"].map {
                try reader.string($0, what: "push.cfnParameters")
            }
            project.push.cfnParameter = try m["cfnParameter"].map { try reader.string($0, what: "push.cfnParameter") }
            project.push.ecsTaskDefinition = try m["ecsTaskDefinition"].map {
                try reader.string($0, what: "push.ecsTaskDefinition")
            }
            project.push.container = try m["container"].map { try reader.string($0, what: "push.container") }
            project.push.createRepository =
                try m["createRepository"].map { try reader.bool($0, what: "push.createRepository") } ?? false
            project.push.region = try m["region"].map { try reader.string($0, what: "push.region") }
            if let samNode = m["sam"] {
                let s = try reader.mapping(samNode, allowed: ["config", "env", "parameter"], what: "push.sam")
                var sam = SAM()
                if let v = s["config"] { sam.config = try reader.string(v, what: "push.sam.config") }
                if let v = s["env"] { sam.env = try reader.string(v, what: "push.sam.env") }
                if let v = s["parameter"] { sam.parameter = try reader.string(v, what: "push.sam.parameter") }
                project.push.sam = sam
            }
            if let scanNode = m["scan"] {
                let s = try reader.mapping(scanNode, allowed: ["fail-on", "timeout", "report"], what: "push.scan")
                var scan = Scan()
                if let v = s["fail-on"] {
                    scan.failOn = try reader.oneOf(v, what: "push.scan.fail-on", Scan.severities)
                }
                if let v = s["timeout"] { scan.timeout = try reader.duration(v, what: "push.scan.timeout") }
                if let v = s["report"] { scan.report = try reader.string(v, what: "push.scan.report") }
                project.push.scan = scan
            }
        }
        return project
    }

    /// A path from the file, resolved against the project directory.
    /// Whether a build of `context` is a build of this project: its configured context, or the
    /// project's own directory. Any other context is built as `docker build` would, without the
    /// project's defaults (its build args could name a base the other Dockerfile never meant).
    public func isOwnContext(_ context: URL) -> Bool {
        let wanted = context.resolvingSymlinksInPath().standardizedFileURL.path
        return [resolve(build.context ?? "."), directory].contains {
            $0.resolvingSymlinksInPath().standardizedFileURL.path == wanted
        }
    }

    /// The build defaults this file sets, for saying which were applied ("build args BASE_IMAGE, tag app").
    public var buildDefaultsSummary: [String] {
        var parts: [String] = []
        if let dockerfile = build.dockerfile { parts.append("dockerfile \(dockerfile)") }
        if !build.args.isEmpty { parts.append("build args \(build.args.keys.sorted().joined(separator: ", "))") }
        if let image { parts.append("tag \(([image] + build.tags).joined(separator: ", "))") }
        if let target = build.target { parts.append("target \(target)") }
        if let platform = build.platform { parts.append("platform \(platform)") }
        if let format = build.format { parts.append("format \(format)") }
        if let cache = build.cache { parts.append("cache \(cache)") }
        return parts
    }

    public func resolve(_ path: String) -> URL {
        path.hasPrefix("/") ? URL(fileURLWithPath: path) : directory.appendingPathComponent(path).standardizedFileURL
    }

    private static func syntaxError(_ error: YamlError, file: String) -> ProjectError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _):
            return .syntax(file: file, line: mark.line, message: problem)
        case .composer(_, let problem, let mark, _):
            return .syntax(file: file, line: mark.line, message: problem)
        default:
            return .syntax(file: file, line: 1, message: "\(error)")
        }
    }
}
