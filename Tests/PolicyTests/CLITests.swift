import Foundation
import OCI
import TestSupport
import Testing

@testable import Policy

/// Drives the built `imagekit` binary: exit codes, formats, inputs.
@Suite(.serialized) struct CLITests {
    func verify(_ factory: ImageFactory, _ arguments: [String], directory: URL? = nil) throws -> ProcessResult {
        try run(
            try imagekitBinary(), ["verify", "--store", factory.storeRoot.path] + arguments, unsetting: ["NO_COLOR"],
            directory: directory)
    }

    @Test func cleanImagePassesWithExitZero() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let result = try verify(factory, ["dashboard:ok", "--policy", defaultPolicyPath])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("PASSED"))
        #expect(!result.stdout.contains("\u{1B}["))  // not a terminal: no colour
    }

    @Test(arguments: [
        ("IK003", "no USER"), ("IK005", "no HEALTHCHECK"), ("IK009", "forbidden port exposed: 22/tcp"),
    ])
    func brokenImagesExitOne(_ rule: String, _ message: String) async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:broken") { config in
            switch rule {
            case "IK003": config.user = nil
            case "IK005": config.healthcheck = nil
            default: config.exposedPorts?["22/tcp"] = .object([:])
            }
        }
        let result = try verify(
            factory,
            ["dashboard:broken", "--policy", packageRoot.appendingPathComponent("policies").path, "--format", "json"])
        #expect(result.status == 1, "\(result.stderr)")
        let report = try JSONDecoder().decode(VerificationReport.self, from: Data(result.stdout.utf8))
        let failed = try #require(report.result(rule))
        #expect(failed.status == .failed)
        #expect(failed.severity == .error)
        #expect(failed.message.contains(message))
        #expect(result.stderr.contains("violates policy vibejudge-dashboard"))
        #expect(result.stderr.contains(rule))
    }

    @Test func flagsBeatThePolicyFile() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let small = try verify(factory, ["dashboard:ok", "--policy", defaultPolicyPath, "--max-size", "1KB"])
        #expect(small.status == 1)
        #expect(small.stdout.contains("FAIL        IK001  size-uncompressed"))
        #expect(small.stdout.contains("over the 1.0 kB limit"))
        let compressed = try verify(
            factory, ["dashboard:ok", "--policy", defaultPolicyPath, "--max-compressed-size", "10B"])
        #expect(compressed.status == 1)
        #expect(compressed.stdout.contains("IK002"))
        let bad = try verify(factory, ["dashboard:ok", "--policy", defaultPolicyPath, "--max-size", "5 parsecs"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("invalid size '5 parsecs'"))
    }

    @Test func warningsFailOnlyWithFailOnWarning() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:legacy") {
            $0.healthcheck = Healthcheck(test: ["CMD", "curl", "-f", "http://localhost:8501/healthz"])
        }
        let pass = try verify(factory, ["dashboard:legacy", "--policy", legacyPolicyPath])
        #expect(pass.status == 0, "\(pass.stdout)")
        #expect(pass.stdout.contains("warn        IK016"))
        let fail = try verify(factory, ["dashboard:legacy", "--policy", legacyPolicyPath, "--fail-on", "warning"])
        #expect(fail.status == 1)
    }

    @Test func malformedPolicyExitsTwoWithFileAndLine() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let dir = try TemporaryDirectory()
        let policies = dir.url.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        try "name: x\nsize:\n  maxUncompressed: 500MB\n  maxsize: 1GB\n".write(
            to: policies.appendingPathComponent("x.yaml"), atomically: true, encoding: .utf8)
        let result = try verify(factory, ["dashboard:ok", "--policy", "policies/x.yaml"], directory: dir.url)
        #expect(result.status == 2)
        #expect(result.stderr.contains("policies/x.yaml:4: unknown key `maxsize` in size"), "\(result.stderr)")
    }

    @Test func inputErrorsExitTwo() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let missing = try verify(factory, ["nosuch:image", "--policy", defaultPolicyPath])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("not in the store"))
        let dir = try TemporaryDirectory()
        let noImage = try verify(factory, ["--policy", defaultPolicyPath], directory: dir.url)
        #expect(noImage.status == 2)
        #expect(noImage.stderr.contains("give an IMAGE"))
        let format = try verify(factory, ["dashboard:ok", "--format", "yaml"])
        #expect(format.status == 2)
    }

    @Test func reportsAreWrittenToAFile() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard()
        let dir = try TemporaryDirectory()
        let out = dir.url.appendingPathComponent("verify.sarif")
        let result = try verify(
            factory, ["dashboard:ok", "--policy", defaultPolicyPath, "--format", "sarif", "--output", out.path])
        #expect(result.status == 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("PASSED"))
        let log = try JSONSerialization.jsonObject(with: Data(contentsOf: out)) as? [String: Any]
        #expect(log?["version"] as? String == "2.1.0")
    }

    @Test func layoutsAndDockerArchivesAreVerifiedInPlace() async throws {
        let factory = try ImageFactory()
        // skopeo's layout transport reads OCI manifests only.
        try await factory.dashboard(format: .oci)
        // The store is an OCI image layout itself.
        let layout = try verify(
            factory, ["oci:\(factory.storeRoot.path):ok", "--policy", defaultPolicyPath, "--format", "json"])
        #expect(layout.status == 0, "\(layout.stderr)")
        let fromLayout = try JSONDecoder().decode(VerificationReport.self, from: Data(layout.stdout.utf8))
        #expect(fromLayout.results.allSatisfy { $0.status == .passed })
        // docker save's format, written by skopeo.
        let tar = factory.dir.url.appendingPathComponent("dashboard.tar")
        let copy = try run(
            "/usr/bin/skopeo",
            [
                "copy", "--quiet", "oci:\(factory.storeRoot.path):docker.io/library/dashboard:ok",
                "docker-archive:\(tar.path):dashboard:ok",
            ])
        #expect(copy.status == 0, "\(copy.stderr)")
        let archive = try verify(factory, [tar.path, "--policy", defaultPolicyPath, "--format", "json"])
        #expect(archive.status == 0, "\(archive.stderr)\(archive.stdout)")
        let fromArchive = try JSONDecoder().decode(VerificationReport.self, from: Data(archive.stdout.utf8))
        #expect(fromArchive.results.map(\.status) == fromLayout.results.map(\.status))
        #expect(fromArchive.size.files == fromLayout.size.files)
        #expect(fromArchive.size.layers.map(\.createdBy) == fromLayout.size.layers.map(\.createdBy))
        let prefixed = try verify(factory, ["docker-archive:\(tar.path)", "--policy", defaultPolicyPath])
        #expect(prefixed.status == 0)
        // A directory holding oci-layout needs no prefix when it has a single image.
        let bare = try verify(factory, [factory.storeRoot.path, "--policy", defaultPolicyPath])
        #expect(bare.status == 0, "\(bare.stderr)")
        let missing = try verify(
            factory, [factory.dir.url.appendingPathComponent("nothing.tar").path, "--policy", defaultPolicyPath])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nothing.tar: no such file"))
    }

    @Test func projectDefaultsNeedNoArguments() async throws {
        let factory = try ImageFactory()
        try await factory.dashboard("dashboard:broken") { $0.user = nil }
        let dir = try TemporaryDirectory()
        try "image: dashboard:broken\nverify:\n  policy: \(defaultPolicyPath)\n".write(
            to: dir.url.appendingPathComponent("imagekit.yaml"), atomically: true, encoding: .utf8)
        let result = try verify(factory, [], directory: dir.url)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("FAIL        IK003"))
    }
}
