import Foundation
import Testing

@testable import Project

@Suite struct ProjectFileTests {
    let dir = URL(fileURLWithPath: "/srv/project")

    @Test func readsTheDesignedShape() throws {
        let text = """
            image: vibejudge-dashboard            # local name
            build:
              dockerfile: Dockerfile
              context: .
              args: { BASE_IMAGE: python:3.12-slim }
              cache: ecr://vibejudge-dashboard:buildcache
            verify:
              policy: policies/default.yaml
            push:
              repository: ecr://vibejudge-dashboard
              tags: [latest]
              sam: { config: samconfig.toml, env: dev, parameter: ImageUri }
            """
        let project = try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir)
        #expect(project.image == "vibejudge-dashboard")
        #expect(project.build.args == ["BASE_IMAGE": "python:3.12-slim"])
        #expect(project.build.dockerfile == "Dockerfile")
        #expect(project.build.cache == "ecr://vibejudge-dashboard:buildcache")
        #expect(project.verify.policy == "policies/default.yaml")
        #expect(project.push.repository == "ecr://vibejudge-dashboard")
        #expect(project.push.tags == ["latest"])
        #expect(project.push.sam == ProjectFile.SAM(config: "samconfig.toml", env: "dev", parameter: "ImageUri"))
        #expect(project.resolve("policies/default.yaml").path == "/srv/project/policies/default.yaml")
        #expect(project.resolve("/abs").path == "/abs")
    }

    @Test func emptyFileIsAllDefaults() throws {
        let project = try ProjectFile.parse("", file: "imagekit.yaml", directory: dir)
        #expect(project.image == nil)
        #expect(project.push.sam == nil)
    }

    @Test(arguments: [
        (
            "image: x\nbuidl:\n  context: .\n",
            "imagekit.yaml:2: unknown key `buidl` in the project file; allowed keys: image, build, verify, push"
        ),
        ("image: x\nbuild:\n  args: [a, b]\n", "imagekit.yaml:3: build.args should be a mapping (key: value lines)"),
        ("push:\n  tags: latest\n", "imagekit.yaml:2: push.tags should be a list, e.g. [a, b]"),
        ("build:\n  format: tarball\n", "imagekit.yaml:2: build.format should be one of docker, oci, not 'tarball'"),
        ("push:\n  createRepository: maybe\n", "imagekit.yaml:2: push.createRepository should be true or false"),
        ("- a\n- b\n", "imagekit.yaml:1: the project file should be a mapping (key: value lines)"),
        (
            "push:\n  sam: { config: a, envv: dev }\n",
            "imagekit.yaml:2: unknown key `envv` in push.sam; allowed keys: config, env, parameter"
        ),
        ("image:\n", "imagekit.yaml:1: image has no value; write one after the colon (\"\" for an empty string)"),
        ("build:\n  cache: [a, b]\n", "imagekit.yaml:2: build.cache should be a single value, not a list"),
    ])
    func reportsFileAndLine(_ text: String, _ message: String) {
        #expect(throws: ProjectError.self) { try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir) }
        do {
            _ = try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func reportsSyntaxErrorsWithLine() {
        do {
            _ = try ProjectFile.parse("image: x\nbuild: [unclosed\n", file: "imagekit.yaml", directory: dir)
            Issue.record("expected a syntax error")
        } catch {
            #expect(error.description.hasPrefix("imagekit.yaml:"))
            #expect(error.description.contains("YAML syntax"))
        }
    }
}

@Suite struct ProjectScanTests {
    let dir = URL(fileURLWithPath: "/srv/project")

    @Test func readsTheScanGate() throws {
        let text = """
            push:
              repository: ecr://vibejudge-dashboard
              scan: { fail-on: HIGH, timeout: 15m, report: out/ecr-scan.sarif }
            """
        let project = try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir)
        #expect(project.push.scan == ProjectFile.Scan(failOn: "HIGH", timeout: 900, report: "out/ecr-scan.sarif"))
        let defaults = try ProjectFile.parse("push:\n  scan: {}\n", file: "imagekit.yaml", directory: dir)
        #expect(defaults.push.scan == ProjectFile.Scan(failOn: "CRITICAL", timeout: nil, report: nil))
        #expect(try ProjectFile.parse("push: {}\n", file: "imagekit.yaml", directory: dir).push.scan == nil)
    }

    @Test(arguments: [
        (
            "push:\n  scan:\n    fail-on: SEVERE\n",
            "imagekit.yaml:3: push.scan.fail-on should be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, not 'SEVERE'"
        ),
        (
            "push:\n  scan:\n    timeout: soon\n",
            "imagekit.yaml:3: push.scan.timeout should be a duration such as 600, 90s or 15m, not 'soon'"
        ),
        (
            "push:\n  scan:\n    failOn: HIGH\n",
            "imagekit.yaml:3: unknown key `failOn` in push.scan; allowed keys: fail-on, timeout, report"
        ),
        ("push:\n  scan: yes\n", "imagekit.yaml:2: push.scan should be a mapping (key: value lines)"),
    ])
    func badScanSettingsNameTheLine(text: String, message: String) throws {
        #expect(throws: ProjectError.self) { try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir) }
        do { _ = try ProjectFile.parse(text, file: "imagekit.yaml", directory: dir) } catch {
            #expect("\(error)" == message)
        }
    }

    @Test func durations() {
        #expect(ProjectFile.Scan.seconds("600") == 600)
        #expect(ProjectFile.Scan.seconds("90s") == 90)
        #expect(ProjectFile.Scan.seconds("15m") == 900)
        #expect(ProjectFile.Scan.seconds("0") == 0)
        #expect(
            ProjectFile.Scan.seconds("-1") == nil && ProjectFile.Scan.seconds("m") == nil
                && ProjectFile.Scan.seconds("1h") == nil)
    }
}

@Suite struct RepositoryProjectFileTests {
    /// The repository's own imagekit.yaml: what the three commands run with.
    @Test func theShippedProjectFileParses() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let project = try #require(try ProjectFile.find(in: root))
        #expect(project.push.createRepository)
        #expect(project.push.scan == ProjectFile.Scan(failOn: "CRITICAL", timeout: nil, report: nil))
        #expect(project.build.cache == "ecr://vibejudge-dashboard:buildcache")
        #expect(project.push.repository == "ecr://vibejudge-dashboard")
    }
}
