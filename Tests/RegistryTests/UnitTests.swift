import Foundation
import OCI
import TestSupport
import Testing

@testable import Registry

@Suite struct ChallengeTests {
    @Test func parsesBearerWithQuotedCommas() {
        let header =
            #"Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push""#
        let challenges = AuthChallenge.parse(header)
        #expect(challenges.count == 1)
        #expect(challenges[0].isBearer)
        #expect(challenges[0].realm == "https://auth.example.com/token")
        #expect(challenges[0].service == "registry.example.com")
        #expect(challenges[0].scope == "repository:a/b:pull,push")
    }

    @Test func parsesBasicAndSeveralChallenges() {
        let challenges = AuthChallenge.parse(#"Basic realm="Registry Realm", Bearer realm="https://x/token",service=x"#)
        #expect(challenges.map(\.scheme) == ["Basic", "Bearer"])
        #expect(challenges[0].realm == "Registry Realm")
        #expect(challenges[1].service == "x")
        #expect(AuthChallenge.parse(#"basic realm="a \"quoted\" realm""#).first?.realm == #"a "quoted" realm"#)
    }
}

@Suite struct EndpointTests {
    @Test func schemesByHost() throws {
        let options = RegistryClientOptions(insecureRegistries: ["registry.lan:5000"])
        #expect(options.endpoint(for: try ImageReference(parsing: "127.0.0.1:5000/a")).scheme == "http")
        #expect(options.endpoint(for: try ImageReference(parsing: "localhost:5000/a")).scheme == "http")
        #expect(options.endpoint(for: try ImageReference(parsing: "[::1]:5000/a")).scheme == "http")
        #expect(options.endpoint(for: try ImageReference(parsing: "registry.lan:5000/a")).scheme == "http")
        #expect(options.endpoint(for: try ImageReference(parsing: "ghcr.io/a/b")).scheme == "https")
        let hub = options.endpoint(for: try ImageReference(parsing: "python:3.12-slim"))
        #expect(hub.host == "registry-1.docker.io")
        #expect(hub.repository == "library/python")
        #expect(hub.credentialHost == "docker.io")
    }

    @Test func dockerHubMirror() throws {
        var options = RegistryClientOptions()
        options.dockerHubMirror = try RegistryMirror(parsing: "public.ecr.aws/docker/library")
        let python = options.endpoint(for: try ImageReference(parsing: "python:3.12-slim"))
        #expect(python.baseURL == "https://public.ecr.aws")
        #expect(python.repository == "docker/library/python")
        // A library mirror does not carry user repositories; pushes never go to a mirror.
        #expect(options.endpoint(for: try ImageReference(parsing: "someone/tool")).host == "registry-1.docker.io")
        #expect(
            options.endpoint(for: try ImageReference(parsing: "python"), forPush: true).host == "registry-1.docker.io")
        options.dockerHubMirror = try RegistryMirror(parsing: "http://127.0.0.1:5001")
        let mirrored = options.endpoint(for: try ImageReference(parsing: "someone/tool"))
        #expect(mirrored.baseURL == "http://127.0.0.1:5001")
        #expect(mirrored.repository == "someone/tool")
    }

    @Test func uploadLocations() throws {
        let client = RegistryClient(credentials: NoCredentials())
        defer { Task { try? await client.shutdown() } }
        let endpoint = RepositoryEndpoint(scheme: "https", host: "r.example.com", repository: "team/app")
        let digest = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
        #expect(
            try client.uploadURL("/v2/team/app/blobs/uploads/u1?_state=abc", digest: digest, endpoint: endpoint)
                == "https://r.example.com/v2/team/app/blobs/uploads/u1?_state=abc&digest=sha256%3A"
                + String(repeating: "a", count: 64))
        #expect(
            try client.uploadURL("https://s3.example.com/upload/u2", digest: digest, endpoint: endpoint)
                == "https://s3.example.com/upload/u2?digest=sha256%3A" + String(repeating: "a", count: 64))
        #expect(
            try client.uploadURL("u3", digest: digest, endpoint: endpoint).hasPrefix(
                "https://r.example.com/v2/team/app/blobs/uploads/u3?digest="))
    }

    @Test func retryAfterAndBackoff() {
        #expect(RetryPolicy.parseRetryAfter("3") == 3)
        let now = Date(timeIntervalSince1970: 1_000_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let later = formatter.string(from: now.addingTimeInterval(7))
        #expect(RetryPolicy.parseRetryAfter(later, now: now) == 7)
        #expect(RetryPolicy.parseRetryAfter("soon") == nil)
        let policy = RetryPolicy(maxAttempts: 5, baseDelay: 1, maxDelay: 4)
        for attempt in 1...6 {
            let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
            let ceiling = min(4, pow(2, Double(attempt - 1)))
            #expect(delay >= ceiling / 2 && delay <= ceiling)
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: 500) == policy.maxRetryAfter)
    }
}

@Suite struct CredentialTests {
    func config(_ json: String) throws -> (TemporaryDirectory, DockerConfigCredentials) {
        let dir = try TemporaryDirectory(prefix: "imagekit-docker-config")
        try Data(json.utf8).write(to: dir.appending("config.json"))
        return (
            dir, DockerConfigCredentials(environment: ["DOCKER_CONFIG": dir.path, "PATH": dir.path + ":/usr/bin:/bin"])
        )
    }

    @Test func readsAuthsEntries() async throws {
        let auth = Data("alice:pa:ss".utf8).base64EncodedString()
        let (dir, source) = try config(
            #"""
            {"auths": {
              "r.example.com": {"auth": "\#(auth)"},
              "https://other.example.com/v2/": {"username": "bob", "password": "pw"},
              "https://index.docker.io/v1/": {"identitytoken": "refresh-me"}
            }}
            """#)
        _ = dir
        #expect(
            try await source.credentials(for: "r.example.com")
                == RegistryCredentials(username: "alice", password: "pa:ss"))
        #expect(
            try await source.credentials(for: "other.example.com")
                == RegistryCredentials(username: "bob", password: "pw"))
        #expect(try await source.credentials(for: "docker.io")?.identityToken == "refresh-me")
        #expect(try await source.credentials(for: "unknown.example.com") == nil)
    }

    @Test func runsCredentialHelpers() async throws {
        let (dir, source) = try config(#"{"credHelpers": {"helped.example.com": "fake"}, "credsStore": "fake"}"#)
        let helper = dir.appending("docker-credential-fake")
        try Data(
            """
            #!/bin/sh
            read host
            case "$host" in
              helped.example.com) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper-secret"}' "$host" ;;
              stored.example.com) printf '{"ServerURL":"%s","Username":"<token>","Secret":"id-token"}' "$host" ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """.utf8
        ).write(to: helper)
        chmod(helper.path, 0o755)
        #expect(
            try await source.credentials(for: "helped.example.com")
                == RegistryCredentials(username: "helper-user", password: "helper-secret"))
        #expect(try await source.credentials(for: "stored.example.com")?.identityToken == "id-token")
        #expect(try await source.credentials(for: "nowhere.example.com") == nil)
    }

    @Test func reportsAMissingHelperAndBadJSON() async throws {
        let (dirA, missing) = try config(#"{"credsStore": "absent"}"#)
        _ = dirA
        await #expect(throws: RegistryError.self) { _ = try await missing.credentials(for: "x.example.com") }
        let (dirB, broken) = try config("{not json")
        _ = dirB
        let error = await #expect(throws: RegistryError.self) { _ = try await broken.credentials(for: "x.example.com") }
        #expect(error?.description.contains("config.json") == true)
    }

    @Test func chainsAndNeverPrintsSecrets() async throws {
        let chain = CredentialChain([
            StaticCredentials(host: "a.example.com", username: "u", password: "hunter2"), NoCredentials(),
        ])
        let found = try await chain.credentials(for: "a.example.com")
        #expect(found?.username == "u")
        #expect(try await chain.credentials(for: "b.example.com") == nil)
        var dumped = ""
        dump(found!, to: &dumped)
        for text in [found!.description, "\(found!)", String(reflecting: found!), dumped] {
            #expect(!text.contains("hunter2"))
        }
    }
}
