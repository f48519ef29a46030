import AsyncHTTPClient
import Foundation
import NIOCore
import OCI
import TestSupport
import Testing

@testable import AWS

/// A clock that moves only when the code under test sleeps, so waits take no wall-clock time.
final class VirtualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_700_000_000)
    private var slept: [TimeInterval] = []

    var sleeps: [TimeInterval] { lock.withLock { slept } }

    var polling: ECRScanPolling {
        ECRScanPolling(
            timeout: 600, firstDelay: 2, maxDelay: 30,
            now: { [self] in lock.withLock { current } },
            sleep: { [self] seconds in
                lock.withLock {
                    slept.append(seconds); current += seconds
                }
            })
    }
}

/// Scan findings set up through moto's own API: images go in with PutImage, findings with
/// `POST /moto-api/static/ecr/scan-finding-results`, which DescribeImageScanFindings then answers for that image.
struct MotoECR {
    let server: MotoServer
    let http: HTTPClient
    let ecr: ECRClient

    init(server: MotoServer, http: HTTPClient) throws {
        self.server = server
        self.http = http
        let endpoint = try AWSEndpoint.resolve(service: .ecr, region: "us-east-1", explicit: server.endpoint)
        ecr = ECRClient(
            httpClient: http,
            credentials: AWSCredentials(accessKeyId: "AKIAMOTOTEST00000001", secretAccessKey: "motosecret"),
            region: "us-east-1", endpoint: endpoint)
    }

    func post(_ path: String, target: String? = nil, _ body: Any) async throws {
        var request = HTTPClientRequest(url: server.endpoint + path)
        request.method = .POST
        request.headers.add(
            name: "Content-Type", value: target == nil ? "application/json" : "application/x-amz-json-1.1")
        if let target {
            request.headers.add(name: "X-Amz-Target", value: "AmazonEC2ContainerRegistry_V20150921." + target)
            // moto routes by the service in the credential scope; it does not check the signature.
            request.headers.add(
                name: "Authorization",
                value:
                    "AWS4-HMAC-SHA256 Credential=AKIAMOTOTEST00000001/20260101/us-east-1/ecr/aws4_request, SignedHeaders=host, Signature=0"
            )
        }
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        let response = try await http.execute(request, timeout: .seconds(30))
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect((200..<300).contains(Int(response.status.code)), "\(path) \(target ?? ""): \(text)")
    }

    /// An image in moto's ECR with a real digest; returns the digest.
    func putImage(repository: String, tag: String) async throws -> String {
        let manifest =
            #"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":2,"digest":"sha256:\#(String(repeating: "1", count: 64))"},"layers":[],"tag":"\#(tag)"}"#
        let digest = "sha256:" + SHA256Hasher.hash(Data(manifest.utf8)).encoded
        try await post(
            "/", target: "PutImage",
            ["repositoryName": repository, "imageManifest": manifest, "imageTag": tag, "imageDigest": digest])
        return digest
    }

    func injectFindings(repository: String, digest: String, status: String, findings: [String: Any]) async throws {
        let result: [String: Any] = [
            "registryId": "123456789012", "repositoryName": repository, "imageId": ["imageDigest": digest],
            "imageScanStatus": ["status": status, "description": "set by the test"],
            "imageScanFindings": findings,
        ]
        try await post("/moto-api/static/ecr/scan-finding-results", ["results": [result], "region": "us-east-1"])
    }
}

@Suite("ECR image scans against moto_server", .serialized)
struct ImageScanTests {
    static var basicFindings: [String: Any] {
        [
            "findingSeverityCounts": ["HIGH": 1, "CRITICAL": 1, "LOW": 2],
            "findings": [
                [
                    "name": "CVE-2024-0001", "severity": "HIGH",
                    "uri": "https://security-tracker.debian.org/tracker/CVE-2024-0001",
                    "attributes": [
                        ["key": "package_name", "value": "zlib"], ["key": "package_version", "value": "1.2.13"],
                        ["key": "CVSS3_SCORE", "value": "7.5"],
                    ],
                ],
                [
                    "name": "CVE-2024-0002", "severity": "CRITICAL", "description": "heap overflow",
                    "attributes": [
                        ["key": "package_name", "value": "openssl"], ["key": "package_version", "value": "3.0.11"],
                    ],
                ],
                ["name": "CVE-2024-0003", "severity": "LOW", "attributes": [["key": "package_name", "value": "tar"]]],
                ["name": "CVE-2024-0004", "severity": "LOW", "attributes": []],
            ],
        ]
    }

    static var enhancedFindings: [String: Any] {
        [
            "findingSeverityCounts": ["MEDIUM": 1, "UNTRIAGED": 1],
            "enhancedFindings": [
                [
                    "awsAccountId": "123456789012", "severity": "MEDIUM", "title": "CVE-2024-1111 - urllib3",
                    "score": 6.1, "type": "PACKAGE_VULNERABILITY",
                    "status": "ACTIVE", "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/1",
                    "packageVulnerabilityDetails": [
                        "vulnerabilityId": "CVE-2024-1111", "source": "NVD",
                        "sourceUrl": "https://nvd.nist.gov/vuln/detail/CVE-2024-1111",
                        "vulnerablePackages": [
                            [
                                "name": "urllib3", "version": "2.0.6", "fixedInVersion": "2.0.7",
                                "packageManager": "PYTHONPKG",
                            ]
                        ],
                    ],
                ],
                [
                    "awsAccountId": "123456789012", "severity": "UNTRIAGED", "title": "GHSA-xxxx",
                    "type": "PACKAGE_VULNERABILITY", "status": "ACTIVE",
                    "findingArn": "arn:aws:inspector2:us-east-1:123456789012:finding/2",
                    "packageVulnerabilityDetails": [
                        "vulnerabilityId": "GHSA-xxxx", "source": "GITHUB",
                        "vulnerablePackages": [
                            ["name": "left-pad", "version": "1.0.0", "fixedInVersion": "NotAvailable"]
                        ],
                    ],
                ],
            ],
        ]
    }

    @Test("basic and enhanced findings, after StartImageScan when none was started")
    func findingsOfBothShapes() async throws {
        try await MotoServer.with { server, http in
            let moto = try MotoECR(server: server, http: http)
            _ = try await moto.ecr.createRepository(name: "scan/basic")
            let digest = try await moto.putImage(repository: "scan/basic", tag: "abc")
            try await moto.injectFindings(
                repository: "scan/basic", digest: digest, status: "COMPLETE", findings: Self.basicFindings)
            let clock = VirtualClock()
            // No scan yet: moto answers ScanNotFoundException until StartImageScan.
            let basic = try await moto.ecr.imageScanFindings(
                repository: "scan/basic", digest: digest, polling: clock.polling)
            #expect(clock.sleeps.isEmpty)
            #expect(basic.scanner == "basic")
            #expect(basic.counts == [.critical: 1, .high: 1, .low: 2])
            #expect(
                basic.count(atOrAbove: .critical) == 1 && basic.count(atOrAbove: .high) == 2
                    && basic.count(atOrAbove: .informational) == 4)
            #expect(basic.findings.map(\.id) == ["CVE-2024-0002", "CVE-2024-0001", "CVE-2024-0003", "CVE-2024-0004"])
            #expect(
                basic.findings[0]
                    == ECRScanFinding(
                        id: "CVE-2024-0002", severity: .critical, package: "openssl", version: "3.0.11",
                        title: "heap overflow"))
            #expect(basic.findings[1].score == 7.5 && basic.findings[1].uri?.hasSuffix("CVE-2024-0001") == true)
            // A second scan the same day is refused (LimitExceededException); the findings stay readable.
            #expect(try await moto.ecr.startImageScan(repository: "scan/basic", digest: digest) == false)

            _ = try await moto.ecr.createRepository(name: "scan/enhanced")
            let enhancedDigest = try await moto.putImage(repository: "scan/enhanced", tag: "abc")
            try await moto.injectFindings(
                repository: "scan/enhanced", digest: enhancedDigest, status: "ACTIVE", findings: Self.enhancedFindings)
            _ = try await moto.ecr.startImageScan(repository: "scan/enhanced", digest: enhancedDigest)
            let enhanced = try await moto.ecr.imageScanFindings(
                repository: "scan/enhanced", digest: enhancedDigest, polling: clock.polling)
            #expect(enhanced.scanner == "enhanced")
            #expect(enhanced.counts == [.medium: 1, .untriaged: 1])
            #expect(
                enhanced.findings.first
                    == ECRScanFinding(
                        id: "CVE-2024-1111", severity: .medium, package: "urllib3", version: "2.0.6", fixedIn: "2.0.7",
                        title: "CVE-2024-1111 - urllib3", uri: "https://nvd.nist.gov/vuln/detail/CVE-2024-1111",
                        score: 6.1))
            #expect(enhanced.findings.last?.fixedIn == nil && enhanced.findings.last?.severity == .untriaged)
            #expect(enhanced.count(atOrAbove: .informational) == 1)

            // An image ECR does not have is named as such.
            await #expect(throws: AWSError.self) {
                try await moto.ecr.imageScanFindings(
                    repository: "scan/basic", digest: "sha256:" + String(repeating: "f", count: 64),
                    polling: clock.polling)
            }
        }
    }

    @Test("a scan that never completes times out after the polling budget, backing off, with no wall-clock wait")
    func neverCompletes() async throws {
        try await MotoServer.with { server, http in
            let moto = try MotoECR(server: server, http: http)
            _ = try await moto.ecr.createRepository(name: "scan/stuck")
            let digest = try await moto.putImage(repository: "scan/stuck", tag: "abc")
            try await moto.injectFindings(
                repository: "scan/stuck", digest: digest, status: "IN_PROGRESS", findings: [:])
            let clock = VirtualClock()
            do {
                _ = try await moto.ecr.imageScanFindings(
                    repository: "scan/stuck", digest: digest, polling: clock.polling)
                Issue.record("expected a timeout")
            } catch let error as AWSError {
                #expect(
                    error
                        == .scanTimedOut(
                            repository: "scan/stuck", digest: digest, seconds: 600, lastStatus: "IN_PROGRESS"))
                #expect(
                    "\(error)".contains("did not complete within 600 s (last status: IN_PROGRESS)")
                        && "\(error)".contains("--scan-timeout"))
            }
            // 2, 4, 8, 16, then 30 s steps until the 600 s are spent, the last one cut to the deadline.
            let sleeps = clock.sleeps
            #expect(Array(sleeps.prefix(6)) == [2, 4, 8, 16, 30, 30])
            #expect(sleeps.reduce(0, +) == 600)
            #expect(sleeps.allSatisfy { $0 > 0 && $0 <= 30 })

            let failedDigest = try await moto.putImage(repository: "scan/stuck", tag: "failed")
            try await moto.injectFindings(
                repository: "scan/stuck", digest: failedDigest, status: "UNSUPPORTED_IMAGE", findings: [:])
            await #expect(
                throws: AWSError.scanFailed(
                    repository: "scan/stuck", digest: failedDigest, status: "UNSUPPORTED_IMAGE",
                    detail: "set by the test")
            ) {
                try await moto.ecr.imageScanFindings(
                    repository: "scan/stuck", digest: failedDigest, polling: clock.polling)
            }
        }
    }
}
