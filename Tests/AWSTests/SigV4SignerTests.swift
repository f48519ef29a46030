import AsyncHTTPClient
import Foundation
import OCI
import TestSupport
import Testing

@testable import AWS

@Suite("SigV4 signer rules")
struct SigV4SignerTests {
    let credentials = AWSCredentials(accessKeyId: SuiteConstants.accessKeyId, secretAccessKey: SuiteConstants.secret)

    @Test("signing key derivation matches the AWS documentation example")
    func signingKey() {
        let key = SigV4Signer.signingKey(
            secretAccessKey: SuiteConstants.secret, day: "20120215", region: "us-east-1", service: "iam")
        #expect(SHA256Hasher.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test("SHA-256 and HMAC-SHA256 known answers")
    func primitives() {
        #expect(SHA256Hasher.hex(of: "") == emptyPayloadHash)
        #expect(SHA256Hasher.hex(of: "abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        // RFC 4231 test case 2.
        let mac = SHA256Hasher.hmac(key: Array("Jefe".utf8), message: "what do ya want for nothing?")
        #expect(SHA256Hasher.hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("amz date is UTC and zero padded")
    func amzDate() {
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 0)) == "19700101T000000Z")
        #expect(SigV4Signer.amzDate(SuiteConstants.date) == "20150830T123600Z")
        #expect(SigV4Signer.amzDate(Date(timeIntervalSince1970: 1_704_067_199.9)) == "20231231T235959Z")
    }

    @Test("query: decoded, RFC 3986 re-encoded, sorted by key then value")
    func query() {
        #expect(SigV4Signer.canonicalQuery("b=2&a=z&a=y") == "a=y&a=z&b=2")
        #expect(SigV4Signer.canonicalQuery("k=a b+c") == "k=a%20b%2Bc")
        #expect(SigV4Signer.canonicalQuery("k=a%20b&flag") == "flag=&k=a%20b")
        #expect(SigV4Signer.canonicalQuery("x=%7e%2F") == "x=~%2F")
        #expect(SigV4Signer.canonicalQuery("") == "")
        #expect(SigV4Signer.canonicalQuery(nil) == "")
    }

    @Test("path: normalized and encoded once more, except for S3")
    func paths() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        #expect(signer.canonicalPath("/a/./b/../c//d/") == "/a/c/d/")
        #expect(signer.canonicalPath("/a%20b") == "/a%2520b")
        #expect(signer.canonicalPath("") == "/")
        let s3 = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        #expect(!s3.normalizesPath)
        #expect(s3.canonicalPath("/bucket//key/../x%20y") == "/bucket//key/../x%20y")
    }

    @Test("headers: lowercase, trimmed, runs of spaces collapsed, repeated ones joined, unsafe ones left out")
    func headers() {
        let (canonical, signed) = SigV4Signer.canonicalHeaders([
            (name: "X-B", value: "  one   two  "), (name: "x-a", value: "1"), (name: "X-A", value: "2"),
            (name: "User-Agent", value: "imagekit"), (name: "Host", value: "h"),
        ])
        #expect(canonical == "host:h\nx-a:1,2\nx-b:one two\n")
        #expect(signed == "host;x-a;x-b")
    }

    @Test("x-amz-content-sha256 and the session token are added and signed")
    func optionalHeaders() {
        let session = AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token")
        let signer = SigV4Signer(
            credentials: session, region: "eu-west-1", service: "ecr", addsContentSHA256Header: true)
        let signed = signer.sign(
            method: "GET", url: URL(string: "https://h.example:8443/v2/")!, headers: [],
            body: Data(), date: SuiteConstants.date)
        #expect(signed.header("x-amz-content-sha256") == emptyPayloadHash)
        #expect(signed.header("X-Amz-Security-Token") == "token")
        #expect(signed.header("Host") == "h.example:8443")
        #expect(signed.signedHeaders == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token")
        #expect(
            signed.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKID/20150830/eu-west-1/ecr/aws4_request, "))
    }

    @Test("re-signing replaces the previous Authorization and date")
    func resign() {
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let first = signer.sign(
            method: "GET", url: URL(string: "https://example.amazonaws.com/")!, headers: [],
            body: Data(), date: SuiteConstants.date)
        let second = signer.sign(
            method: "GET", url: URL(string: "https://example.amazonaws.com/")!, headers: first.headers,
            body: Data(), date: SuiteConstants.date)
        #expect(second.authorization == first.authorization)
        #expect(second.headers.filter { $0.name == "Authorization" }.count == 1)
        #expect(second.headers.filter { $0.name == "X-Amz-Date" }.count == 1)
    }
}

/// The same ECR request signed by botocore (`SigV4Auth` with the clock fixed, as botocore's own tests do).
@Suite("SigV4 agrees with botocore")
struct BotocoreComparisonTests {
    static let script = #"""
        import base64, datetime, json, sys
        from unittest import mock
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
        spec = json.loads(sys.argv[1])
        skip = {"host", "x-amz-date", "authorization", "x-amz-security-token", "content-length"}
        request = AWSRequest(method=spec["method"], url=spec["url"], data=base64.b64decode(spec["body"]),
                             headers={name: value for name, value in spec["headers"] if name.lower() not in skip})
        fixed = datetime.datetime.strptime(spec["date"], "%Y%m%dT%H%M%SZ")
        with mock.patch("botocore.auth.get_current_datetime", return_value=fixed):
            SigV4Auth(Credentials(spec["key"], spec["secret"], spec["token"]), spec["service"], spec["region"]).add_auth(request)
        print(json.dumps({"authorization": request.headers["Authorization"], "date": request.headers["X-Amz-Date"]}))
        """#

    struct Variant: Sendable, CustomTestStringConvertible {
        var endpoint: String
        var region: String
        var registryIds: [String]
        var sessionToken: String?
        var testDescription: String { "\(endpoint) \(registryIds) token:\(sessionToken != nil)" }
    }

    static let variants: [Variant] = [
        Variant(
            endpoint: "https://api.ecr.us-east-1.amazonaws.com", region: "us-east-1", registryIds: [], sessionToken: nil
        ),
        Variant(
            endpoint: "https://api.ecr.eu-central-1.amazonaws.com", region: "eu-central-1",
            registryIds: ["123456789012"],
            sessionToken: "FwoGZXIvYXdzEJr//////////wEaDExampleSessionToken+/="),
        Variant(
            endpoint: "http://127.0.0.1:5123", region: "cn-north-1", registryIds: ["123456789012", "210987654321"],
            sessionToken: nil),
    ]

    @Test("ECR GetAuthorizationToken Authorization header is byte-identical to botocore's", arguments: variants)
    func getAuthorizationToken(_ variant: Variant) throws {
        let python = try #require(which("python3"), "python3 with botocore is needed")
        let credentials = AWSCredentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            sessionToken: variant.sessionToken)
        let client = ECRClient(
            httpClient: HTTPClient.shared, credentials: credentials, region: variant.region,
            endpoint: AWSEndpoint(url: URL(string: variant.endpoint)!, source: "test"))
        let body =
            variant.registryIds.isEmpty
            ? Data("{}".utf8)
            : try JSONSerialization.data(withJSONObject: ["registryIds": variant.registryIds])
        let date = Date(timeIntervalSince1970: 1_763_753_400)  // 2025-11-21T19:30:00Z
        let request = client.signedRequest(operation: "GetAuthorizationToken", body: body, date: date)

        let spec: [String: Any] = [
            "method": request.method, "url": request.url.absoluteString,
            "headers": request.headers.map { [$0.name, $0.value] },
            "body": body.base64EncodedString(), "key": credentials.accessKeyId, "secret": credentials.secretAccessKey,
            "token": credentials.sessionToken as Any, "service": "ecr", "region": variant.region,
            "date": SigV4Signer.amzDate(date),
        ]
        let json = String(decoding: try JSONSerialization.data(withJSONObject: spec), as: UTF8.self)
        let output = try run(python, ["-c", Self.script, json]).checked().stdout
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: String])
        let ours = try #require(request.headers.first { $0.name == "Authorization" }?.value)
        #expect(ours == answer["authorization"])
        #expect(request.headers.first { $0.name == "X-Amz-Date" }?.value == answer["date"])
        #expect(
            request.headers.contains {
                $0.name == "X-Amz-Target" && $0.value == "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"
            })
    }
}

/// SHA-256 of the empty input (FIPS 180-2), the payload hash of bodiless signed requests.
private let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
