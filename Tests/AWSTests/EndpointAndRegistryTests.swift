import Foundation
import TestSupport
import Testing

@testable import AWS

@Suite("endpoints, registry hosts, error mapping, token cache")
struct EndpointAndRegistryTests {
    @Test("endpoint precedence: --endpoint-url, AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, default")
    func endpointPrecedence() throws {
        let env = ["AWS_ENDPOINT_URL": "http://global:1", "AWS_ENDPOINT_URL_ECR": "http://ecr:2"]
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "us-east-1", explicit: "https://flag:3", environment: env)
                .url.absoluteString == "https://flag:3")
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "us-east-1", environment: env).url.absoluteString
                == "http://ecr:2")
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "us-east-1", environment: env).source
                == "AWS_ENDPOINT_URL_ECR")
        #expect(
            try AWSEndpoint.resolve(service: .sts, region: "us-east-1", environment: env).url.absoluteString
                == "http://global:1")
        #expect(
            try AWSEndpoint.resolve(
                service: .sts, region: "us-east-1",
                environment: env.merging(["AWS_ENDPOINT_URL_STS": "http://sts:4"]) { $1 }
            ).url.absoluteString == "http://sts:4")
        let ignored = env.merging(["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"]) { $1 }
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "eu-west-1", environment: ignored).url.absoluteString
                == "https://api.ecr.eu-west-1.amazonaws.com")
    }

    @Test("default endpoints, China regions included")
    func defaults() throws {
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "us-west-2", environment: [:]).url.absoluteString
                == "https://api.ecr.us-west-2.amazonaws.com")
        #expect(
            try AWSEndpoint.resolve(service: .sts, region: "eu-north-1", environment: [:]).url.absoluteString
                == "https://sts.eu-north-1.amazonaws.com")
        #expect(
            try AWSEndpoint.resolve(service: .ecr, region: "cn-north-1", environment: [:]).url.absoluteString
                == "https://api.ecr.cn-north-1.amazonaws.com.cn")
        #expect(
            try AWSEndpoint.resolve(service: .sts, region: "cn-northwest-1", environment: [:]).url.absoluteString
                == "https://sts.cn-northwest-1.amazonaws.com.cn")
    }

    @Test("bad endpoint URLs and regions are rejected with their source")
    func invalidEndpoints() {
        #expect(throws: AWSError.invalidEndpoint(value: "localhost:4566", source: "AWS_ENDPOINT_URL")) {
            try AWSEndpoint.resolve(
                service: .ecr, region: "us-east-1", environment: ["AWS_ENDPOINT_URL": "localhost:4566"])
        }
        #expect(throws: AWSError.self) { try AWSEndpoint.resolve(service: .ecr, region: "us east", environment: [:]) }
    }

    @Test(
        "ECR registry hosts parse and build back",
        arguments: [
            ("123456789012.dkr.ecr.us-east-1.amazonaws.com", "123456789012", "us-east-1", false),
            ("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012", "us-gov-west-1", true),
            ("000000000001.dkr.ecr.cn-north-1.amazonaws.com.cn", "000000000001", "cn-north-1", false),
        ])
    func registryHosts(host: String, account: String, region: String, fips: Bool) throws {
        let registry = try ECRRegistry(host: host)
        #expect(registry.accountId == account)
        #expect(registry.region == region)
        #expect(registry.fips == fips)
        #expect(registry.host == host)
        #expect(ECRRegistry(accountId: account, region: region, fips: fips).host == host)
        #expect(ECRRegistry.isECRHost(host.uppercased()))
    }

    @Test(
        "non-ECR hosts are refused",
        arguments: [
            "docker.io", "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com", "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
            "abcdefghijkl.dkr.ecr.us-east-1.amazonaws.com", "123456789012.ecr.us-east-1.amazonaws.com",
        ])
    func notRegistries(host: String) {
        #expect(throws: AWSError.invalidRegistryHost(host)) { try ECRRegistry(host: host) }
    }

    @Test("JSON and XML error answers become typed, actionable errors")
    func errorMapping() {
        let json = AWSJSONError.parse(
            status: 400,
            body: Data(
                #"{"__type":"com.amazonaws.ecr#RepositoryNotFoundException","message":"The repository with name 'web' does not exist in the registry with id '123456789012'"}"#
                    .utf8))
        #expect(json.code == "RepositoryNotFoundException")
        #expect(ECRClient.missingName(in: json.message, candidates: ["a", "web"]) == "web")
        let colon = AWSJSONError.parse(
            status: 400,
            body: Data(
                #"{"__type":"UnrecognizedClientException:http://internal.amazon.com/coral/","Message":"The security token included in the request is invalid."}"#
                    .utf8))
        #expect(colon.code == "UnrecognizedClientException")
        #expect(colon.message == "The security token included in the request is invalid.")
        let xml = AWSXML.parseError(
            status: 403,
            body: Data(
                """
                <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token &amp; key &lt;are&gt; invalid.</Message></Error><RequestId>x</RequestId></ErrorResponse>
                """.utf8))
        #expect(xml.code == "InvalidClientTokenId")
        #expect(xml.message == "The security token & key <are> invalid.")

        let transport = AWSTransport(
            httpClient: .shared,
            credentials: AWSCredentials(
                accessKeyId: "AKIA", secretAccessKey: "hidden-secret", source: "profile \"dev\" in /h/.aws/credentials"),
            region: "us-east-1", signingName: "ecr",
            endpoint: AWSEndpoint(url: URL(string: "https://x")!, source: "test"), timeout: .seconds(1), now: { Date() }
        )
        for code in [
            "UnrecognizedClientException", "InvalidSignatureException", "InvalidClientTokenId", "ExpiredTokenException",
        ] {
            let error = transport.commonError(
                operation: "GetAuthorizationToken", failure: AWSServiceFailure(status: 400, code: code, message: "m"))
            let text = error.map { "\($0)" } ?? ""
            #expect(text.hasPrefix("AWS rejected the credentials from profile \"dev\" in /h/.aws/credentials"))
            #expect(text.contains("check"))
            #expect(!text.contains("hidden-secret"))
        }
        let denied = transport.commonError(
            operation: "CreateRepository",
            failure: AWSServiceFailure(status: 400, code: "AccessDeniedException", message: "not authorized"))
        #expect("\(denied!)".contains("ecr:CreateRepository"))
        #expect(
            transport.commonError(operation: "X", failure: AWSServiceFailure(status: 400, code: "Other", message: ""))
                == nil)
    }

    @Test("lifecycle policy keeping the last N images")
    func lifecyclePolicy() throws {
        let text = ECRLifecyclePolicy.keepLast(10)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let rule = try #require((object["rules"] as? [[String: Any]])?.first)
        let selection = try #require(rule["selection"] as? [String: Any])
        #expect(selection["countNumber"] as? Int == 10)
        #expect(selection["countType"] as? String == "imageCountMoreThan")
        #expect(selection["tagStatus"] as? String == "any")
        #expect((rule["action"] as? [String: String])?["type"] == "expire")
    }

    actor Counter {
        var value = 0
        func next() -> Int { value += 1; return value }
    }

    @Test("tokens are cached until five minutes before expiry, and concurrent callers share one request")
    func tokenCache() async throws {
        let cache = ECRTokenCache()
        let counter = Counter()
        let start = Date(timeIntervalSince1970: 1_700_000_000)
        let fetch: @Sendable () async throws -> [ECRAuthorization] = {
            let n = await counter.next()
            try await Task.sleep(nanoseconds: 20_000_000)
            return [
                ECRAuthorization(
                    username: "AWS", password: "p\(n)", expiresAt: start.addingTimeInterval(12 * 3600),
                    proxyEndpoint: "https://123456789012.dkr.ecr.us-east-1.amazonaws.com")
            ]
        }
        let passwords = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask { try await cache.authorizations(key: "", now: start, fetch: fetch)[0].password }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(passwords == ["p1"])
        #expect(await counter.value == 1)
        // Still valid 6 minutes before expiry: cached.
        let late = start.addingTimeInterval(12 * 3600 - 6 * 60)
        #expect(try await cache.authorizations(key: "", now: late, fetch: fetch)[0].password == "p1")
        // Within the 5-minute margin: refreshed.
        let later = start.addingTimeInterval(12 * 3600 - 4 * 60)
        #expect(try await cache.authorizations(key: "", now: later, fetch: fetch)[0].password == "p2")
        // Another registry set is another entry.
        #expect(try await cache.authorizations(key: "210987654321", now: start, fetch: fetch)[0].password == "p3")
        #expect(await counter.value == 3)
    }
}
