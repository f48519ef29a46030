import AsyncHTTPClient
import Foundation
import TestSupport
import Testing

@testable import AWS

extension MotoServer {
    /// A fresh moto_server and an AWS HTTP client for `body`; both end when it returns or throws.
    static func with<T>(_ body: (MotoServer, HTTPClient) async throws -> T) async throws -> T {
        let server = try MotoServer()
        let client = AWSHTTPClient.make(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        do {
            let result = try await body(server, client)
            server.stop()
            try? await client.shutdown()
            return result
        } catch {
            server.stop()
            try? await client.shutdown()
            let output = server.output
            if !output.isEmpty { print("moto_server output:\n\(output.suffix(2000))") }
            throw error
        }
    }
}

@Suite("ECR and STS against moto_server", .serialized)
struct MotoEndToEndTests {
    @Test("GetAuthorizationToken, CreateRepository, DescribeRepositories, PutLifecyclePolicy, GetCallerIdentity")
    func endToEnd() async throws {
        try await MotoServer.with { server, httpClient in
            let home = try TemporaryDirectory(prefix: "imagekit-aws-home")
            defer { home.remove() }
            // Everything from an explicit environment, as the CLI would pass the process environment.
            let environment = [
                "HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIAMOTOTEST00000001", "AWS_SECRET_ACCESS_KEY": "motosecret",
                "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": server.endpoint,
            ]
            let resolver = AWSConfigResolver(environment: environment)
            let credentials = try await resolver.resolveCredentials()
            let region = try resolver.resolveRegion().region
            let ecrEndpoint = try AWSEndpoint.resolve(service: .ecr, region: region, environment: environment)
            #expect(ecrEndpoint.source == "AWS_ENDPOINT_URL")
            let ecr = ECRClient(httpClient: httpClient, credentials: credentials, region: region, endpoint: ecrEndpoint)

            let tokens = try await ecr.getAuthorizationToken()
            let token = try #require(tokens.first)
            #expect(token.username == "AWS")
            #expect(!token.password.isEmpty)
            // moto answers a fixed expiry (2015-01-01); what matters is that epoch seconds were decoded.
            #expect(token.expiresAt > Date(timeIntervalSince1970: 1_400_000_000))
            #expect(token.registryHost.hasSuffix(".dkr.ecr.us-east-1.amazonaws.com"))
            #expect(try await ecr.getAuthorizationToken() == tokens)

            let name = "imagekit/e2e-\(UUID().uuidString.prefix(8).lowercased())"
            let created = try await ecr.createRepository(name: name, scanOnPush: true, tagMutability: .immutable)
            #expect(created.repositoryName == name)
            #expect(created.repositoryUri.hasSuffix("/\(name)"))
            await #expect(throws: AWSError.repositoryAlreadyExists(name: name)) {
                try await ecr.createRepository(name: name)
            }

            let found = try await ecr.describeRepositories(names: [name])
            #expect(found.map(\.repositoryName) == [name])
            #expect(found.first?.scanOnPush == true)
            #expect(found.first?.imageTagMutability == .immutable)
            #expect(found.first?.repositoryUri == created.repositoryUri)

            do {
                _ = try await ecr.describeRepositories(names: ["imagekit/does-not-exist"])
                Issue.record("DescribeRepositories should fail for a missing repository")
            } catch let error as AWSError {
                guard case .repositoryNotFound(let missing, _) = error else {
                    Issue.record("unexpected error \(error)")
                    return
                }
                #expect(missing == "imagekit/does-not-exist")
                #expect("\(error)".contains("aws ecr create-repository --repository-name imagekit/does-not-exist"))
            }

            let policy = ECRLifecyclePolicy.keepLast(10)
            let stored = try await ecr.putLifecyclePolicy(repository: name, policyText: policy)
            let rules = try #require(
                (try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any])?["rules"]
                    as? [[String: Any]])
            #expect((rules.first?["selection"] as? [String: Any])?["countNumber"] as? Int == 10)
            await #expect(throws: AWSError.self) {
                try await ecr.putLifecyclePolicy(repository: "imagekit/does-not-exist", policyText: policy)
            }

            // STS through its own override, which wins over AWS_ENDPOINT_URL.
            var stsEnvironment = environment
            stsEnvironment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
            stsEnvironment["AWS_ENDPOINT_URL_STS"] = server.endpoint
            let stsEndpoint = try AWSEndpoint.resolve(service: .sts, region: region, environment: stsEnvironment)
            let sts = STSClient(httpClient: httpClient, credentials: credentials, region: region, endpoint: stsEndpoint)
            let identity = try await sts.getCallerIdentity()
            #expect(identity.account == "123456789012")
            #expect(identity.arn.hasPrefix("arn:aws:"))
        }
    }

    @Test("an unreachable endpoint is a transport error naming the endpoint and its source")
    func unreachable() async throws {
        try await AWSHTTPClient.withClient { client in
            let port = try freeTCPPort()
            let endpoint = try AWSEndpoint.resolve(
                service: .sts, region: "us-east-1", explicit: "http://127.0.0.1:\(port)")
            let sts = STSClient(
                httpClient: client, credentials: AWSCredentials(accessKeyId: "A", secretAccessKey: "B"),
                region: "us-east-1", endpoint: endpoint, timeout: .seconds(2))
            do {
                _ = try await sts.getCallerIdentity()
                Issue.record("expected a transport error")
            } catch let error as AWSError {
                guard case .transport = error else { Issue.record("unexpected \(error)"); return }
                #expect("\(error)".contains("http://127.0.0.1:\(port)"))
                #expect("\(error)".contains("--endpoint-url"))
            }
        }
    }
}
