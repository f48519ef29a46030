import AsyncHTTPClient
import Foundation
import Testing

@testable import AWS

#if canImport(Glibc)
import Glibc
#endif

/// A real `moto_server` on a free local port, stopped when the body finishes or throws.
struct MotoServer {
    let port: Int
    let process: Process
    let log: URL

    var endpoint: String { "http://127.0.0.1:\(port)" }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupport.ProcessFailure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw TestSupport.ProcessFailure(description: "bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func with<T>(_ body: (MotoServer, HTTPClient) async throws -> T) async throws -> T {
        let executable = try #require(
            TestSupport.which("moto_server", extra: ["/root/.pyenv/shims"]), "moto_server is not on PATH")
        let port = try freePort()
        let directory = try TestSupport.temporaryDirectory()
        let log = directory.appendingPathComponent("moto.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let server = MotoServer(port: port, process: process, log: log)
        let client = AWSHTTPClient.make(connectTimeout: .seconds(2), readTimeout: .seconds(30))
        func stop() async {
            // The child inherits the runner threads' blocked signal mask, so SIGTERM and SIGINT never
            // reach it; SIGKILL cannot be blocked. moto keeps no state worth a clean shutdown.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? handle.close()
            try? await client.shutdown()
            try? FileManager.default.removeItem(at: directory)
        }
        do {
            try await server.waitUntilReady(client)
            let result = try await body(server, client)
            await stop()
            return result
        } catch {
            let output = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            await stop()
            if !output.isEmpty { print("moto_server output:\n\(output.suffix(2000))") }
            throw error
        }
    }

    func waitUntilReady(_ client: HTTPClient) async throws {
        // Generous: a Python server starting on a busy 2-core machine (CI runs many suites at once).
        let deadline = Date().addingTimeInterval(240)
        while Date() < deadline {
            guard process.isRunning else { throw TestSupport.ProcessFailure(description: "moto_server exited early") }
            if let response = try? await client.execute(
                HTTPClientRequest(url: "\(endpoint)/moto-api/"), timeout: .seconds(2)),
                response.status.code < 500
            {
                return
            }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw TestSupport.ProcessFailure(description: "moto_server did not answer on \(endpoint) within 240 s")
    }
}

@Suite("ECR and STS against moto_server", .serialized)
struct MotoEndToEndTests {
    @Test("GetAuthorizationToken, CreateRepository, DescribeRepositories, PutLifecyclePolicy, GetCallerIdentity")
    func endToEnd() async throws {
        try await MotoServer.with { server, httpClient in
            let home = try TestSupport.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: home) }
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
            let port = try MotoServer.freePort()
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
