import Foundation
import TestSupport
import Testing

/// `imagekit push --scan` against moto's ECR, with the local registry standing in for ECR's
/// registry endpoint. moto learns of the pushed image through PutImage (the same manifest, so the
/// same digest), and its findings through `POST /moto-api/static/ecr/scan-finding-results`; moto
/// answers DescribeImageScanFindings with them once imagekit has started the scan.
@Suite(.serialized) struct ScanGateTests {
    static let repository = "vibejudge-dashboard"

    /// A moto server, a registry playing ECR, the small image, and the image registered in moto.
    struct Setup {
        let scratch: TemporaryDirectory
        let moto: MotoServer
        let registry: LocalRegistry
        let store: String
        let digest: String
        let sam: String

        init() async throws {
            scratch = try TemporaryDirectory.scratch("push-scan")
            store = scratch.path("store")
            digest = try PushTests.smallImage(store: store, scratch: scratch)
            moto = try MotoServer()
            registry = try await LocalRegistry.start(htpasswd: ("AWS", PushTests.motoPassword))
            sam = scratch.path("samconfig.toml")
            try PushTests.samconfig.write(toFile: sam, atomically: true, encoding: .utf8)
            let hex = String(digest.dropFirst("sha256:".count))
            let manifest = try String(contentsOfFile: "\(store)/blobs/sha256/\(hex)", encoding: .utf8)
            try ecr(
                "CreateRepository",
                ["repositoryName": ScanGateTests.repository, "imageScanningConfiguration": ["scanOnPush": true]])
            try ecr(
                "PutImage",
                [
                    "repositoryName": ScanGateTests.repository, "imageManifest": manifest, "imageTag": "seed",
                    "imageDigest": digest,
                ])
        }

        func stop() {
            registry.stop()
            moto.stop()
        }

        /// One ECR call to moto (unsigned: moto routes by the credential scope and checks no signature).
        func ecr(_ target: String, _ body: [String: Any]) throws {
            try post(
                "/", body,
                headers: [
                    "X-Amz-Target": "AmazonEC2ContainerRegistry_V20150921.\(target)",
                    "Content-Type": "application/x-amz-json-1.1",
                    "Authorization":
                        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0",
                ])
        }

        func findings(status: String, _ findings: [[String: Any]], counts: [String: Int]) throws {
            let result: [String: Any] = [
                "registryId": "123456789012", "repositoryName": ScanGateTests.repository,
                "imageId": ["imageDigest": digest],
                "imageScanStatus": ["status": status, "description": "set by the test"],
                "imageScanFindings": ["findings": findings, "findingSeverityCounts": counts],
            ]
            try post(
                "/moto-api/static/ecr/scan-finding-results", ["results": [result], "region": "us-east-1"],
                headers: ["Content-Type": "application/json"])
        }

        private func post(_ path: String, _ body: [String: Any], headers: [String: String]) throws {
            let script = """
                import json, sys, urllib.request
                request = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(), headers=json.loads(sys.argv[3]), method="POST")
                with urllib.request.urlopen(request, timeout=60) as response:
                    sys.exit(0 if response.status < 300 else 1)
                """
            let json = { (value: Any) in
                String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
            }
            let result = try TestSupport.run(
                "/usr/bin/python3", ["-c", script, moto.endpoint + path, try json(body), try json(headers)])
            #expect(result.status == 0, "\(path): \(result.stderr)")
        }

        func push(_ extra: [String], directory: URL? = nil) throws -> ProcessResult {
            try Imagekit.run(
                ["push", "small:1", "--registry-host", registry.host, "--tag", "abc1234", "--progress", "plain"]
                    + extra,
                store: store, environment: moto.environment, directory: directory)
        }

        var pushArguments: [String] {
            ["--repository", "ecr://\(ScanGateTests.repository)", "--sam-config", sam, "--config-env", "dev"]
        }
    }

    static func finding(_ id: String, _ severity: String, package: String, version: String) -> [String: Any] {
        [
            "name": id, "severity": severity, "uri": "https://security-tracker.debian.org/tracker/\(id)",
            "attributes": [["key": "package_name", "value": package], ["key": "package_version", "value": version]],
        ]
    }

    /// Validates the SARIF file against the schema the verify tests use; returns "level ruleId" per result.
    static func validateSARIF(_ path: String) throws -> [String] {
        let schema = repositoryRoot.appendingPathComponent("Tests/PolicyTests/Resources/sarif-schema-2.1.0.json").path
        let python = repositoryRoot.appendingPathComponent(".venv/bin/python").path
        let script = """
            import json, sys
            import jsonschema
            schema = json.load(open(sys.argv[1]))
            log = json.load(open(sys.argv[2]))
            validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
            for e in sorted(validator.iter_errors(log), key=lambda e: list(e.path)):
                print("INVALID", list(e.path), e.message)
            run = log["runs"][0]
            rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
            for r in run["results"]:
                rule = rules[r["ruleId"]]
                print(r["level"], r["ruleId"], rule["properties"]["security-severity"], r["message"]["text"])
            """
        let result = try TestSupport.run(python, ["-c", script, schema, path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("INVALID"), "\(result.stdout)")
        return result.lines
    }

    @Test func findingsBelowTheThresholdPassAndPinTheDigest() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        try setup.findings(
            status: "COMPLETE",
            [
                Self.finding("CVE-2024-0001", "HIGH", package: "zlib", version: "1.2.13"),
                Self.finding("CVE-2024-0002", "LOW", package: "tar", version: "1.34"),
            ],
            counts: ["HIGH": 1, "LOW": 1])
        let report = setup.scratch.path("scan.sarif")
        let result = try setup.push(
            setup.pushArguments + ["--scan", "--scan-fail-on", "CRITICAL", "--scan-report", report])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(
            result.trimmed
                == "\(setup.registry.host)/\(Self.repository)@\(setup.digest)")
        #expect(
            result.stderr.contains(
                "ECR scan (basic): 0 CRITICAL, 1 HIGH, 0 MEDIUM, 1 LOW, 0 INFORMATIONAL, 0 UNTRIAGED"),
            "\(result.stderr)")
        #expect(
            result.stderr.contains("HIGH          CVE-2024-0001 in zlib 1.2.13, no fixed version known"),
            "\(result.stderr)")
        #expect(try PushTests.overrides(setup.sam, env: "dev").contains("\(Self.repository)@\(setup.digest)"))
        #expect(
            try Self.validateSARIF(report) == [
                "warning CVE-2024-0001 8.0 HIGH: CVE-2024-0001 in zlib 1.2.13, no fixed version known",
                "note CVE-2024-0002 2.0 LOW: CVE-2024-0002 in tar 1.34, no fixed version known",
            ])
    }

    @Test func aFindingAtTheThresholdStopsBeforeAnythingIsWritten() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        try setup.findings(
            status: "COMPLETE",
            [
                Self.finding("CVE-2024-0001", "HIGH", package: "zlib", version: "1.2.13"),
                Self.finding("CVE-2024-9999", "CRITICAL", package: "openssl", version: "3.0.11"),
            ],
            counts: ["HIGH": 1, "CRITICAL": 1])
        let report = setup.scratch.path("scan.sarif")
        let digestFile = setup.scratch.path("digest.txt")
        let before = try String(contentsOfFile: setup.sam, encoding: .utf8)
        let result = try setup.push(
            setup.pushArguments + ["--scan", "--scan-report", report, "--digest-file", digestFile])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("! CRITICAL      CVE-2024-9999 in openssl 3.0.11"), "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "error: the ECR scan found 1 finding at or above CRITICAL in \(setup.registry.host)/\(Self.repository)@\(setup.digest); the digest was not written to any deployment file"
            ), "\(result.stderr)")
        #expect(try String(contentsOfFile: setup.sam, encoding: .utf8) == before)
        #expect(!FileManager.default.fileExists(atPath: digestFile))
        #expect(
            try Self.validateSARIF(report) == [
                "error CVE-2024-9999 9.5 CRITICAL: CVE-2024-9999 in openssl 3.0.11, no fixed version known",
                "warning CVE-2024-0001 8.0 HIGH: CVE-2024-0001 in zlib 1.2.13, no fixed version known",
            ])
    }

    @Test func theProjectFileSetsTheThreshold() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        try setup.findings(
            status: "COMPLETE", [Self.finding("CVE-2024-0001", "HIGH", package: "zlib", version: "1.2.13")],
            counts: ["HIGH": 1])
        let project = setup.scratch.url.appendingPathComponent("project")
        try FileManager.default.createDirectory(at: project, withIntermediateDirectories: true)
        try """
        image: small:1
        push:
          repository: ecr://\(Self.repository)
          sam: { config: \(setup.sam), env: dev, parameter: ImageUri }
          scan: { fail-on: HIGH, report: scan.sarif }
        """.write(to: project.appendingPathComponent("imagekit.yaml"), atomically: true, encoding: .utf8)
        let before = try String(contentsOfFile: setup.sam, encoding: .utf8)
        let result = try setup.push([], directory: project)
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("at or above HIGH"), "\(result.stderr)")
        #expect(try String(contentsOfFile: setup.sam, encoding: .utf8) == before)
        #expect(try Self.validateSARIF(project.appendingPathComponent("scan.sarif").path).count == 1)
    }

    @Test func aScanThatNeverCompletesTimesOut() async throws {
        let setup = try await Setup()
        defer { setup.stop() }
        try setup.findings(status: "IN_PROGRESS", [], counts: [:])
        let before = try String(contentsOfFile: setup.sam, encoding: .utf8)
        // A zero budget: the first answer (IN_PROGRESS) already spends it, so no wall-clock wait.
        let result = try setup.push(setup.pushArguments + ["--scan", "--scan-timeout", "0s"])
        #expect(result.status == 3, "\(result.stderr)")
        #expect(result.stderr.contains("did not complete within 0 s (last status: IN_PROGRESS)"), "\(result.stderr)")
        #expect(result.stderr.contains("--scan-timeout"))
        #expect(try String(contentsOfFile: setup.sam, encoding: .utf8) == before)
    }

    @Test func scanNeedsAnECRRepository() async throws {
        let scratch = try TemporaryDirectory.scratch("push-scan-plain")
        let store = scratch.path("store")
        _ = try PushTests.smallImage(store: store, scratch: scratch)
        let registry = try await LocalRegistry.start()
        defer { registry.stop() }
        let result = try Imagekit.run(
            ["push", "small:1", "--repository", "\(registry.host)/team/small", "--scan"], store: store)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(
            result.stderr.contains(
                "--scan reads Amazon ECR's image scan, and \(registry.host)/team/small is not an ECR repository"),
            "\(result.stderr)")
        let inspect = try TestSupport.run(
            tool("skopeo"), ["inspect", "--tls-verify=false", "docker://\(registry.host)/team/small:latest"])
        #expect(inspect.status != 0, "nothing may be pushed")
        let stray = try Imagekit.run(
            ["push", "small:1", "--repository", "\(registry.host)/team/small", "--scan-fail-on", "HIGH"], store: store)
        #expect(stray.status == 2 && stray.stderr.contains("go with --scan"), "\(stray.stderr)")
        let bad = try Imagekit.run(
            ["push", "small:1", "--repository", "ecr://x", "--scan", "--scan-fail-on", "SEVERE"], store: store)
        #expect(
            bad.status == 2
                && bad.stderr.contains(
                    "--scan-fail-on must be one of INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL, not 'SEVERE'"),
            "\(bad.stderr)")
    }
}
