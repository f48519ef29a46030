import Foundation
import OCI
import TestSupport
import Testing

@testable import AWS

/// One case of the AWS SigV4 test suite, read from the shipped resource files.
struct SuiteCase: CustomTestStringConvertible, Sendable {
    var name: String
    var method: String
    var path: String
    var query: String?
    var headers: [(name: String, value: String)]
    var body: String
    var canonicalRequest: String
    var stringToSign: String
    var authorization: String

    var testDescription: String { name }

    static let directory: URL = Bundle.module.url(forResource: "Vectors", withExtension: nil)!

    static let all: [SuiteCase] = {
        let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)!
        var cases: [SuiteCase] = []
        for case let url as URL in enumerator where url.pathExtension == "req" {
            cases.append(try! SuiteCase(request: url))
        }
        return cases.sorted { $0.name < $1.name }
    }()

    init(request url: URL) throws {
        let base = url.deletingPathExtension()
        name = base.lastPathComponent
        func read(_ ext: String) throws -> String {
            try String(contentsOf: base.appendingPathExtension(ext), encoding: .utf8)
        }
        canonicalRequest = try read("creq")
        stringToSign = try read("sts")
        authorization = try read("authz")

        let raw = try read("req")
        let (head, body) =
            raw.range(of: "\n\n").map { (String(raw[..<$0.lowerBound]), String(raw[$0.upperBound...])) } ?? (raw, "")
        self.body = body
        var lines = head.components(separatedBy: "\n")
        let requestLine = lines.removeFirst()
        // "METHOD URI HTTP/1.1", where the URI may hold spaces (get-space).
        let firstSpace = requestLine.firstIndex(of: " ")!
        let protocolStart = requestLine.range(of: " HTTP/", options: .backwards)!.lowerBound
        method = String(requestLine[..<firstSpace])
        let uri = String(requestLine[requestLine.index(after: firstSpace)..<protocolStart])
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = nil
        }
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.first == " " || line.first == "\t", let last = headers.last {
                // The suite reads folded lines as further values of the previous header.
                headers.append((name: last.name, value: line))
                continue
            }
            let colon = line.firstIndex(of: ":")!
            headers.append((name: String(line[..<colon]), value: String(line[line.index(after: colon)...])))
        }
        self.headers = headers
    }
}

enum SuiteConstants {
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let accessKeyId = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// The session token of the post-sts-token cases, taken from the suite's own request file.
    static var sessionToken: String {
        SuiteCase.all.first { $0.name == "post-sts-header-before" }!
            .headers.first { $0.name == "X-Amz-Security-Token" }!.value
    }
}

@Suite("AWS SigV4 test suite")
struct SigV4SuiteTests {
    @Test("the shipped suite has all its cases")
    func suiteIsComplete() {
        let names = Set(SuiteCase.all.map(\.name))
        #expect(names.count == 31)
        for required in [
            "get-vanilla", "get-vanilla-query-order-key-case", "get-header-value-trim", "get-utf8", "get-space",
            "get-slash", "get-relative", "post-x-www-form-urlencoded", "post-vanilla-query",
            "get-header-key-duplicate", "post-sts-header-before", "post-sts-header-after",
        ] {
            #expect(names.contains(required), "missing \(required)")
        }
    }

    @Test("signature matches the suite", arguments: SuiteCase.all)
    func matchesSuite(_ suiteCase: SuiteCase) {
        let isSTS = suiteCase.name.hasPrefix("post-sts-")
        let credentials = AWSCredentials(
            accessKeyId: SuiteConstants.accessKeyId, secretAccessKey: SuiteConstants.secret,
            sessionToken: isSTS ? SuiteConstants.sessionToken : nil)
        let signer = SigV4Signer(
            credentials: credentials, region: "us-east-1", service: "service",
            signsSecurityToken: suiteCase.name != "post-sts-header-after")
        let signed = signer.sign(
            method: suiteCase.method, path: suiteCase.path, query: suiteCase.query,
            headers: suiteCase.headers, payloadHash: SHA256Hasher.hex(of: suiteCase.body),
            date: SuiteConstants.date)
        #expect(signed.canonicalRequest == suiteCase.canonicalRequest)
        #expect(signed.stringToSign == suiteCase.stringToSign)
        #expect(signed.authorization == suiteCase.authorization)
        #expect(signed.header("Authorization") == suiteCase.authorization)
        #expect(signed.header("X-Amz-Date") == "20150830T123600Z")
        if isSTS {
            #expect(signed.header("X-Amz-Security-Token") == SuiteConstants.sessionToken)
        }
    }

    @Test("get-vanilla through a URL: the Host header comes from the URL")
    func vanillaFromURL() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyId: SuiteConstants.accessKeyId, secretAccessKey: SuiteConstants.secret),
            region: "us-east-1", service: "service")
        let signed = signer.sign(
            method: "GET", url: URL(string: "https://example.amazonaws.com/")!, headers: [],
            body: Data(), date: SuiteConstants.date)
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        #expect(signed.header("host") == "example.amazonaws.com")
    }
}
