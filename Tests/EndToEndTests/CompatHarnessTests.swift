import Foundation
import TestSupport
import Testing

/// The differential harness: every case of `Tests/Compat/cases` (a Dockerfile, its context, files it
/// downloads, a git repository it clones) built by imagekit gives what Docker's BuildKit gave for it,
/// as `scripts/compat-harness.py buildkit --record` recorded it in the case's `expected.json` (or, where
/// that BuildKit cannot build the feature, what the Dockerfile reference says, marked
/// `"source": "reference"`), apart from the differences the case documents with their reasons.
/// A case of a new feature (`"reproducible": true`) also gives the same digest in a second empty store.
/// With `IMAGEKIT_COMPAT_LIVE=1` BuildKit itself is run again (a private dockerd) and compared with the
/// recorded expectations.
@Suite(.serialized) struct CompatHarnessTests {
    static let casesDirectory = repositoryRoot.appendingPathComponent("Tests/Compat/cases")
    static let harness = repositoryRoot.appendingPathComponent("scripts/compat-harness.py").path

    static let caseNames: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: casesDirectory.path)) ?? []
        return names.filter {
            FileManager.default.fileExists(atPath: casesDirectory.appendingPathComponent("\($0)/Dockerfile").path)
        }.sorted()
    }()

    /// What `case.json` tells the builders besides the Dockerfile.
    struct CaseOptions: Decodable {
        var description: String
        var target: String?
        var secrets: [String]?
        var reproducible: Bool?
        /// The build must fail: expected.json's `result.failure` says with which exit code and message.
        var fails: Bool?
    }

    static func options(_ name: String) throws -> CaseOptions {
        let file = casesDirectory.appendingPathComponent("\(name)/case.json")
        return try JSONDecoder().decode(CaseOptions.self, from: Data(contentsOf: file))
    }

    /// Builds a case into `store` (the base fixture imported first) and returns imagekit's result.
    static func build(
        _ name: String, options: CaseOptions, store: String, scratch: TemporaryDirectory, server: PortServer?
    ) throws -> ProcessResult {
        let caseDirectory = casesDirectory.appendingPathComponent(name)
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx-\(UUID().uuidString.prefix(8))")
        let given = caseDirectory.appendingPathComponent("context")
        if FileManager.default.fileExists(atPath: given.path) {
            let copied = try run("/bin/cp", ["-a", given.path, context.path])
            try #require(copied.status == 0, "\(copied.stderr)")
        } else {
            try FileManager.default.createDirectory(at: context, withIntermediateDirectories: true)
        }
        var args = [
            "build", "-t", "compat-\(name):1", "--progress", "plain",
            "-f", caseDirectory.appendingPathComponent("Dockerfile").path,
            "--build-arg", "BASE=debian-python:bookworm",
        ]
        if let server { args += ["--build-arg", "SERVER=http://127.0.0.1:\(server.port)"] }
        if let target = options.target { args += ["--target", target] }
        for secret in options.secrets ?? [] {
            args += ["--secret", "id=\(secret),src=\(caseDirectory.appendingPathComponent("secrets/\(secret)").path)"]
        }
        return try Imagekit.run(args + [context.path], store: store, directory: scratch.url)
    }

    @Test(arguments: caseNames)
    func caseGivesWhatBuildKitGives(_ name: String) throws {
        let options = try Self.options(name)
        let caseDirectory = Self.casesDirectory.appendingPathComponent(name)
        let scratch = try TemporaryDirectory.scratch("compat-case")
        let needsServer = ["served", "repo"].contains {
            FileManager.default.fileExists(atPath: caseDirectory.appendingPathComponent($0).path)
        }
        // `compat-harness.py serve`: the case's `served/` and `repo/` (as `repo.git`), prepared
        // exactly as the BuildKit recorder prepares them.
        let server =
            try needsServer
            ? PortServer("/usr/bin/python3", [Self.harness, "serve", caseDirectory.path, scratch.url.path]) : nil
        if let server { try #require(server.port > 0, "\(name): the case's file server did not start") }

        let store = scratch.path("store")
        let built = try Self.build(name, options: options, store: store, scratch: scratch, server: server)
        if options.fails == true {
            try #require(built.status != 0, "\(name) (\(options.description)) must fail, but built: \(built.stdout)")
            let stderr = scratch.url.appendingPathComponent("stderr.txt")
            try Data(built.stderr.utf8).write(to: stderr)
            let checked = try run(
                "/usr/bin/python3",
                [
                    Self.harness, "check-failure", caseDirectory.path, "--exit-code", "\(built.status)", "--stderr",
                    stderr.path,
                ])
            #expect(
                checked.status == 0,
                "\(name) fails otherwise than \(caseDirectory.path)/expected.json says:\n\(checked.stdout)\(checked.stderr)"
            )
            return
        }
        try #require(built.status == 0, "\(name) (\(options.description)): \(built.stderr)")
        let image = scratch.path("image.tar")
        let exported = try Imagekit.run(
            ["export", "compat-\(name):1", "--format", "docker", "-o", image], store: store)
        try #require(exported.status == 0, "\(exported.stderr)")
        let checked = try run(
            "/usr/bin/python3", [Self.harness, "check", caseDirectory.path, image, "--base", Fixture.baseTar])
        #expect(
            checked.status == 0,
            "\(name) differs from \(caseDirectory.path)/expected.json (fix imagekit, or document the difference there and in docs/dockerfile-compat.md):\n\(checked.stdout)\(checked.stderr)"
        )

        // A new feature's image does not depend on the store or the machine's state.
        if options.reproducible == true {
            let again = try Self.build(
                name, options: options, store: scratch.path("store2"), scratch: scratch, server: server)
            try #require(again.status == 0, "\(again.stderr)")
            #expect(
                again.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                    == built.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
                "\(name): \(RunTests.layerDifferences(store, scratch.path("store2"), image: "compat-\(name):1"))")
        }
    }

    @Test func everyExpectationSaysWhereItComesFrom() throws {
        #expect(Self.caseNames.count >= 25)
        let documentation = try String(
            contentsOf: repositoryRoot.appendingPathComponent("docs/dockerfile-compat.md"), encoding: .utf8)
        for name in Self.caseNames {
            let file = Self.casesDirectory.appendingPathComponent("\(name)/expected.json")
            let document = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any], "\(file.path)")
            let source = document["source"] as? String
            #expect(source == "buildkit" || source == "reference", "\(file.path): source \(source ?? "missing")")
            if source == "buildkit" {
                let recorded = document["recordedWith"] as? [String: Any]
                #expect(recorded?["engine"] as? String != nil, "\(file.path): no Docker version recorded")
            } else {
                #expect((document["reason"] as? String)?.isEmpty == false, "\(file.path): no reason")
            }
            // Every case that is not plainly BuildKit's result is named in the compatibility page.
            let differences = document["differences"] as? [[String: Any]] ?? []
            if source == "reference" || !differences.isEmpty {
                #expect(documentation.contains("`\(name)`"), "\(name) is not listed in docs/dockerfile-compat.md")
            }
            for difference in differences {
                #expect(
                    (difference["reason"] as? String)?.isEmpty == false, "\(file.path): a difference without reason")
            }
        }
    }

    /// Opt-in: `IMAGEKIT_COMPAT_LIVE=1` where dockerd (Debian's docker.io) can run.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["IMAGEKIT_COMPAT_LIVE"] == "1"))
    func buildKitStillGivesTheRecordedExpectations() throws {
        let result = try run(
            "/usr/bin/python3", [Self.harness, "buildkit", "--imagekit", Imagekit.binary],
            environment: ["IMAGEKIT_TEST_BASE_TAR": Fixture.baseTar])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }
}
