import Foundation
import TestSupport
import Testing

@testable import AWS

/// Each test builds its own HOME and environment dictionary, so they run in parallel without touching the process env.
@Suite("credential chain and region")
struct CredentialChainTests {
    static let secret = "s3cr3tKEYdoNOTprint/abc+XYZ0123456789abcd"
    static let token = "SESSIONtokenDONOTprint0123456789"

    struct Home {
        let directory: TemporaryDirectory
        var root: URL { directory.url }
        var environment: [String: String]

        init(credentials: String? = nil, config: String? = nil, extra: [String: String] = [:]) throws {
            directory = try TemporaryDirectory(prefix: "imagekit-aws")
            let root = directory.url
            if let credentials {
                try writeFile(credentials, to: root.appendingPathComponent(".aws/credentials"))
            }
            if let config { try writeFile(config, to: root.appendingPathComponent(".aws/config")) }
            environment = ["HOME": root.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
                .merging(extra) { $1 }
        }

        var credentialsPath: String { root.appendingPathComponent(".aws/credentials").path }
        var configPath: String { root.appendingPathComponent(".aws/config").path }

        func resolver(profile: String? = nil) -> AWSConfigResolver {
            AWSConfigResolver(environment: environment, profile: profile)
        }

        func remove() { directory.remove() }
    }

    /// No secret may leak into what users see.
    func expectNoSecret(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains(Self.secret), "secret leaked: \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains(Self.token), "token leaked: \(text)", sourceLocation: sourceLocation)
    }

    @Test("environment variables come first, with the session token")
    func environment() async throws {
        let home = try Home(
            credentials: "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = other\n",
            extra: [
                "AWS_ACCESS_KEY_ID": "AKIAENV0000000000001", "AWS_SECRET_ACCESS_KEY": Self.secret,
                "AWS_SESSION_TOKEN": Self.token,
            ])
        defer { home.remove() }
        let credentials = try await home.resolver().resolveCredentials()
        #expect(credentials.accessKeyId == "AKIAENV0000000000001")
        #expect(credentials.secretAccessKey == Self.secret)
        #expect(credentials.sessionToken == Self.token)
        #expect(credentials.source.contains("environment"))
    }

    @Test("half-set environment keys are an error, not a silent fallback")
    func partialEnvironment() async throws {
        let home = try Home(extra: ["AWS_ACCESS_KEY_ID": "AKIAENV"])
        defer { home.remove() }
        await #expect(
            throws: AWSError.incompleteCredentials(source: "the environment", missing: "AWS_SECRET_ACCESS_KEY")
        ) {
            try await home.resolver().resolveCredentials()
        }
    }

    @Test("an explicit profile wins over environment keys")
    func explicitProfile() async throws {
        let home = try Home(
            credentials: "[ci]\naws_access_key_id = AKIACI\naws_secret_access_key = \(Self.secret)\n",
            extra: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "x"])
        defer { home.remove() }
        let credentials = try await home.resolver(profile: "ci").resolveCredentials()
        #expect(credentials.accessKeyId == "AKIACI")
        #expect(credentials.source == "profile \"ci\" in \(home.credentialsPath)")
    }

    @Test("shared credentials file, default and AWS_PROFILE, comments and odd spacing")
    func credentialsFile() async throws {
        let text = """
            # work accounts
            [default]
            aws_access_key_id=AKIADEFAULT
            aws_secret_access_key = \(Self.secret)

            ; staging
            [dev]
            AWS_ACCESS_KEY_ID   :  AKIADEV
            aws_secret_access_key = devsecret
            aws_session_token = \(Self.token)
            """
        let home = try Home(credentials: text)
        defer { home.remove() }
        #expect(try await home.resolver().resolveCredentials().accessKeyId == "AKIADEFAULT")
        var dev = home
        dev.environment["AWS_PROFILE"] = "dev"
        let credentials = try await dev.resolver().resolveCredentials()
        #expect(credentials.accessKeyId == "AKIADEV")
        #expect(credentials.sessionToken == Self.token)
    }

    @Test("config file: [profile NAME] keys, region, AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE with ~")
    func configFile() async throws {
        let home = try Home()
        defer { home.remove() }
        try writeFile(
            "[profile build]\nregion = eu-west-3\naws_access_key_id = AKIACONFIG\naws_secret_access_key = \(Self.secret)\n",
            to: home.root.appendingPathComponent("conf/custom-config"))
        var env = home
        env.environment["AWS_CONFIG_FILE"] = "~/conf/custom-config"
        env.environment["AWS_SHARED_CREDENTIALS_FILE"] = "~/conf/none"
        env.environment["AWS_PROFILE"] = "build"
        let resolver = env.resolver()
        #expect(resolver.configFilePath == home.root.path + "/conf/custom-config")
        #expect(resolver.credentialsFilePath == home.root.path + "/conf/none")
        let credentials = try await resolver.resolveCredentials()
        #expect(credentials.accessKeyId == "AKIACONFIG")
        #expect(try resolver.resolveRegion().region == "eu-west-3")
    }

    @Test("region: AWS_REGION, then AWS_DEFAULT_REGION, then the profile")
    func region() throws {
        let home = try Home(config: "[default]\nregion = ap-south-1\n[profile other]\nregion = sa-east-1\n")
        defer { home.remove() }
        #expect(try home.resolver().resolveRegion().region == "ap-south-1")
        #expect(try home.resolver(profile: "other").resolveRegion().region == "sa-east-1")
        var env = home
        env.environment["AWS_DEFAULT_REGION"] = "us-west-1"
        #expect(try env.resolver().resolveRegion() == ("us-west-1", "AWS_DEFAULT_REGION"))
        env.environment["AWS_REGION"] = "us-west-2"
        #expect(try env.resolver().resolveRegion().region == "us-west-2")

        let empty = try Home()
        defer { empty.remove() }
        #expect(throws: AWSError.self) { try empty.resolver().resolveRegion() }
        do {
            _ = try empty.resolver().resolveRegion()
        } catch {
            #expect("\(error)".contains("AWS_REGION"))
        }
    }

    @Test("credential_process: run without a shell, JSON read, environment passed")
    func credentialProcess() async throws {
        let home = try Home()
        defer { home.remove() }
        let script = home.root.appendingPathComponent("bin/creds helper.sh")
        try writeFile(
            """
            #!/bin/sh
            # prints what the first argument and the environment say
            printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "SessionToken": "%s", "Expiration": "2099-01-01T00:00:00Z"}' "$1" "$CREDS_SECRET" "$2"
            """, to: script, mode: 0o755)
        try writeFile(
            "[profile proc]\ncredential_process = \"\(script.path)\" AKIAPROC 'tok en'\n",
            to: home.root.appendingPathComponent(".aws/config"))
        var env = home
        env.environment["CREDS_SECRET"] = Self.secret
        let credentials = try await env.resolver(profile: "proc").resolveCredentials()
        #expect(credentials.accessKeyId == "AKIAPROC")
        #expect(credentials.secretAccessKey == Self.secret)
        #expect(credentials.sessionToken == "tok en")
        #expect(credentials.expiration == ISO8601DateFormatter().date(from: "2099-01-01T00:00:00Z"))
        #expect(credentials.source.contains("credential_process"))
        expectNoSecret("\(credentials)")
    }

    @Test("credential_process failures say why, without echoing output that holds secrets")
    func credentialProcessFailures() async throws {
        let home = try Home()
        defer { home.remove() }
        let failing = home.root.appendingPathComponent("fail.sh")
        try writeFile(
            "#!/bin/sh\necho 'token expired, run aws sso login' >&2\nexit 3\n", to: failing, mode: 0o755)
        let garbage = home.root.appendingPathComponent("garbage.sh")
        try writeFile(
            "#!/bin/sh\necho 'AccessKeyId=AKIA SecretAccessKey=\(Self.secret)'\n", to: garbage, mode: 0o755)
        let old = home.root.appendingPathComponent("old.sh")
        try writeFile(
            "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"\(Self.secret)\"}'\n",
            to: old, mode: 0o755)
        try writeFile(
            """
            [profile fail]
            credential_process = \(failing.path)
            [profile garbage]
            credential_process = \(garbage.path)
            [profile old]
            credential_process = \(old.path)
            [profile missing]
            credential_process = /nonexistent/imagekit-helper --flag
            """, to: home.root.appendingPathComponent(".aws/config"))

        for (profile, expected) in [
            ("fail", "exit status 3: token expired, run aws sso login"),
            ("garbage", "not a JSON object"), ("old", "\"Version\": 1"),
            ("missing", "exit status 127"),
        ] {
            do {
                _ = try await home.resolver(profile: profile).resolveCredentials()
                Issue.record("profile \(profile) should fail")
            } catch let error as AWSError {
                #expect("\(error)".contains(expected), "\(error)")
                #expect("\(error)".contains("profile \"\(profile)\""))
                expectNoSecret("\(error)")
            }
        }
    }

    @Test("role_arn and SSO profiles are refused with a way out")
    func unsupportedSources() async throws {
        let home = try Home(
            config: """
                [profile role]
                role_arn = arn:aws:iam::123456789012:role/deploy
                source_profile = default
                [profile sso]
                sso_session = corp
                sso_account_id = 123456789012
                [sso-session corp]
                sso_start_url = https://corp.awsapps.com/start
                """)
        defer { home.remove() }
        for profile in ["role", "sso"] {
            do {
                _ = try await home.resolver(profile: profile).resolveCredentials()
                Issue.record("profile \(profile) should be refused")
            } catch let error as AWSError {
                guard case .unsupportedCredentialSource = error else { Issue.record("unexpected \(error)"); continue }
                #expect("\(error)".contains("aws configure export-credentials --profile \(profile)"))
            }
        }
    }

    @Test("a named profile that does not exist is an error naming both files")
    func missingProfile() async throws {
        let home = try Home(
            credentials: "[default]\naws_access_key_id = A\naws_secret_access_key = B\n",
            extra: ["AWS_PROFILE": "nope"])
        defer { home.remove() }
        await #expect(
            throws: AWSError.profileNotFound(profile: "nope", searched: [home.credentialsPath, home.configPath])
        ) {
            try await home.resolver().resolveCredentials()
        }
    }

    @Test("no credentials anywhere: the error lists where it looked")
    func noCredentials() async throws {
        let home = try Home(config: "[default]\nregion = us-east-1\n")
        defer { home.remove() }
        do {
            _ = try await home.resolver().resolveCredentials()
            Issue.record("expected an error")
        } catch let error as AWSError {
            let text = "\(error)"
            #expect(text.contains("no AWS credentials found"))
            #expect(text.contains("AWS_ACCESS_KEY_ID"))
            #expect(text.contains("\(home.credentialsPath) (file not found)"))
            #expect(text.contains("\(home.configPath) (no aws_access_key_id or credential_process)"))
        }
    }

    @Test("malformed lines report file:LINE and never the line itself")
    func malformed() async throws {
        let cases: [(String, Int, String)] = [
            (
                "[default]\naws_access_key_id = AKIA\naws_secret_access_key \(Self.secret)\n", 3,
                "expected \"[section]\" or \"key = value\""
            ),
            ("aws_access_key_id = AKIA\n[default]\n", 1, "before any [section] header"),
            ("[default\naws_access_key_id = A\n", 1, "missing its closing"),
            ("[default]\na = 1\n[default]\n", 3, "defined twice (first on line 1)"),
            (
                "[default]\naws_secret_access_key = \(Self.secret)\naws_secret_access_key = \(Self.secret)\n", 3,
                "set twice"
            ),
            ("\r\n[default]\r\n   indented = \(Self.secret)\r\n", 3, "indented line outside a setting"),
        ]
        for (text, line, message) in cases {
            let home = try Home(credentials: text)
            defer { home.remove() }
            do {
                _ = try await home.resolver().resolveCredentials()
                Issue.record("expected a parse error for \(text.debugDescription)")
            } catch let error as AWSError {
                let description = "\(error)"
                #expect(description.hasPrefix("\(home.credentialsPath):\(line): "), "\(description)")
                #expect(description.contains(message), "\(description)")
                expectNoSecret(description)
            }
        }
    }

    @Test("descriptions, debug output and dumps never show the secret or token")
    func redaction() {
        let credentials = AWSCredentials(
            accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: Self.secret,
            sessionToken: Self.token, source: "test")
        var dumped = ""
        dump(credentials, to: &dumped)
        for text in [
            "\(credentials)", String(describing: credentials), String(reflecting: credentials), dumped,
            "\([credentials])", "\(Optional(credentials) as Any)",
        ] {
            expectNoSecret(text)
            #expect(text.contains("<redacted>"))
        }
        #expect(credentials.maskedAccessKeyId == "****************MPLE")
        let authorization = ECRAuthorization(
            username: "AWS", password: Self.secret, expiresAt: Date(), proxyEndpoint: "https://x")
        expectNoSecret("\(authorization)")
    }
}
