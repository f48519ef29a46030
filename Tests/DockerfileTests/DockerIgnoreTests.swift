import Foundation
import TestSupport
import Testing

@testable import Dockerfile

struct IgnoreCase: CustomTestStringConvertible, Sendable {
    var name: String
    var ignore: String
    var excluded: [String: Int]
    var included: [String]
    var descend: [String]
    var prune: [String]
    var testDescription: String { name }

    static func all() -> [IgnoreCase] {
        guard let root = Bundle.module.url(forResource: "Corpus", withExtension: nil),
            case .array(let items)? = try? JSONValue.decode(root.appendingPathComponent("dockerignore/cases.json"))
        else { return [] }
        return items.map { item in
            func strings(_ key: String) -> [String] {
                if case .array(let a)? = item[key] { return a.compactMap(\.stringValue) }
                return []
            }
            var excluded: [String: Int] = [:]
            if case .object(let o)? = item["excluded"] {
                for (k, v) in o { if case .number(let n) = v { excluded[k] = Int(n) } }
            }
            return IgnoreCase(
                name: item["name"]?.stringValue ?? "?", ignore: item["ignore"]?.stringValue ?? "",
                excluded: excluded, included: strings("included"), descend: strings("descend"), prune: strings("prune"))
        }
    }
}

@Suite struct DockerIgnoreTests {
    @Test func corpusIsLoaded() {
        #expect(IgnoreCase.all().count >= 10)
    }

    @Test(arguments: IgnoreCase.all())
    func corpusCase(_ c: IgnoreCase) throws {
        let ignore = try DockerIgnore(parsing: c.ignore)
        for (path, line) in c.excluded.sorted(by: { $0.key < $1.key }) {
            let pattern = ignore.excludingPattern(path)
            #expect(
                pattern?.line == line,
                "\(c.name): \(path) should be excluded by line \(line), got \(String(describing: pattern))")
        }
        for path in c.included {
            #expect(
                !ignore.isExcluded(path),
                "\(c.name): \(path) should be included, excluded by \(String(describing: ignore.excludingPattern(path)))"
            )
        }
        for dir in c.descend {
            #expect(ignore.mayContainIncluded(dir), "\(c.name): the walk must enter \(dir)")
        }
        for dir in c.prune {
            #expect(!ignore.mayContainIncluded(dir), "\(c.name): the walk can skip \(dir)")
        }
    }

    @Test func explainsWhichLineExcluded() throws {
        let ignore = try DockerIgnore(parsing: "# docs\n\n*.md\n!README.md\n", file: ".dockerignore")
        #expect(ignore.explainExclusion("CHANGES.md") == "excluded by .dockerignore line 3: `*.md`")
        #expect(ignore.explainExclusion("README.md") == nil)
    }

    @Test func rejectsBadPatterns() {
        #expect(
            throws: DockerfileError.ignoreFile(
                SourceLocation(file: ".dockerignore", line: 2, column: 1),
                "illegal exclusion pattern \"!\": write the path to re-include after the `!`")
        ) {
            try DockerIgnore(parsing: "ok\n!\n")
        }
        do {
            _ = try DockerIgnore(parsing: "a\n[abc\n")
            Issue.record("unclosed bracket accepted")
        } catch let error as DockerfileError {
            #expect(error.location.line == 2)
            #expect(error.message.contains("unclosed `[`"))
        } catch { Issue.record("\(error)") }
    }

    @Test func loadPrefersTheDockerfileSpecificFile() throws {
        let context = try TemporaryDirectory(prefix: "imagekit-ignore")
        defer { context.remove() }
        let dir = context.url
        let docker = dir.appendingPathComponent("docker")
        try FileManager.default.createDirectory(at: docker, withIntermediateDirectories: true)
        try "*.md\n".write(to: dir.appendingPathComponent(".dockerignore"), atomically: true, encoding: .utf8)
        let dockerfile = docker.appendingPathComponent("build.Dockerfile")
        try "FROM alpine\n".write(to: dockerfile, atomically: true, encoding: .utf8)

        let root = try DockerIgnore.load(contextDirectory: dir, dockerfilePath: dockerfile)
        #expect(root.file == ".dockerignore")
        #expect(root.isExcluded("a.md"))

        try "*.txt\n".write(
            to: docker.appendingPathComponent("build.Dockerfile.dockerignore"), atomically: true, encoding: .utf8)
        let specific = try DockerIgnore.load(contextDirectory: dir, dockerfilePath: dockerfile)
        #expect(specific.file == "docker/build.Dockerfile.dockerignore")
        #expect(specific.isExcluded("a.txt"))
        #expect(!specific.isExcluded("a.md"))

        let none = try DockerIgnore.load(contextDirectory: docker, dockerfilePath: nil)
        #expect(none.patterns.isEmpty)
        #expect(!none.isExcluded("anything"))
    }
}
