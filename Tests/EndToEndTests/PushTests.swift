import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct PushTests {
    /// moto's ECR password for the default account.
    static let motoPassword = "123456789012-auth-token"

    static func smallImage(store: String, scratch: TemporaryDirectory, name: String = "small:1") throws -> String {
        let tree = scratch.url.appendingPathComponent("tree-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(
            at: tree.appendingPathComponent("app"), withIntermediateDirectories: true)
        try Data("print('hello')\n".utf8).write(to: tree.appendingPathComponent("app/main.py"))
        try Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 131) }).write(
            to: tree.appendingPathComponent("app/blob.bin"))
        let result = try Imagekit.run(["import", tree.path, "-t", name, "--change", "USER 1000"], store: store)
        #expect(result.status == 0, "\(result.stderr)")
        return result.trimmed
    }

    static let samconfig = """
        # comments survive
        version = 0.1

        [dev.deploy.parameters]
        stack_name = "vibejudge-dashboard-dev"
        parameter_overrides = "Environment=\\"dev\\" ImageUri=\\"old@sha256:\(String(repeating: "0", count: 64))\\" ApiBaseUrl=\\"https://x y\\""

        [prod.deploy.parameters]
        parameter_overrides = "Environment=\\"prod\\""
        """

    static func overrides(_ path: String, env: String) throws -> String {
        let script =
            "import sys,tomllib; print(tomllib.load(open(sys.argv[1],'rb'))[sys.argv[2]]['deploy']['parameters']['parameter_overrides'])"
        return try TestSupport.run("/usr/bin/python3", ["-c", script, path, env]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
    }

    @Test func pushToALocalRegistryPinsTheDigest() async throws {
        let scratch = try TemporaryDirectory.scratch("push-local")
        let store = scratch.path("store")
        _ = try Self.smallImage(store: store, scratch: scratch)
        let registry = try await LocalRegistry.start()
        defer { registry.stop() }
        let sam = scratch.path("samconfig.toml")
        try Self.samconfig.write(toFile: sam, atomically: true, encoding: .utf8)
        let pushed = try Imagekit.run(
            [
                "push", "small:1", "--repository", "\(registry.host)/team/small", "--tag", "abc1234", "--tag", "latest",
                "--sam-config", sam, "--config-env", "dev", "--progress", "plain", "--json",
            ], store: store)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let result = try JSONSerialization.jsonObject(with: Data(pushed.stdout.utf8)) as? [String: Any] ?? [:]
        let reference = result["reference"] as? String ?? ""
        let digest = result["digest"] as? String ?? ""
        #expect(reference == "\(registry.host)/team/small@\(digest)")
        for tag in ["abc1234", "latest"] {
            let inspect = try TestSupport.run(
                tool("skopeo"), ["inspect", "--tls-verify=false", "docker://\(registry.host)/team/small:\(tag)"])
            #expect(inspect.stdout.contains("\"Digest\": \"\(digest)\""), "\(tag): \(inspect.stderr)")
        }
        let overrides = try Self.overrides(sam, env: "dev")
        #expect(
            overrides.contains("ImageUri=\"\(reference)\"") || overrides.contains("ImageUri=\(reference)"),
            "\(overrides)")
        #expect(overrides.contains("ApiBaseUrl=\"https://x y\""))
        #expect(try Self.overrides(sam, env: "prod") == "Environment=\"prod\"")
        #expect(try String(contentsOfFile: sam, encoding: .utf8).hasPrefix("# comments survive\n"))

        // A second push uploads nothing.
        let again = try Imagekit.run(
            ["push", "small:1", "--repository", "\(registry.host)/team/small", "--tag", "abc1234", "--json"],
            store: store)
        let second = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any] ?? [:]
        #expect(second["bytesUploaded"] as? Int == 0, "\(again.stdout)")
        #expect(second["digest"] as? String == digest)
    }

    @Test func pushToECRWithItsOwnAuthorization() async throws {
        let scratch = try TemporaryDirectory.scratch("push-ecr")
        let store = scratch.path("store")
        _ = try Self.smallImage(store: store, scratch: scratch)
        let moto = try MotoServer()
        defer { moto.stop() }
        // The registry plays ECR: Basic auth with the password moto's GetAuthorizationToken hands out.
        let registry = try await LocalRegistry.start(htpasswd: ("AWS", Self.motoPassword))
        defer { registry.stop() }
        let sam = scratch.path("samconfig.toml")
        try Self.samconfig.write(toFile: sam, atomically: true, encoding: .utf8)
        let common = [
            "push", "small:1", "--repository", "ecr://vibejudge-dashboard", "--registry-host", registry.host,
            "--tag", "abc1234", "--sam-config", sam, "--config-env", "dev", "--progress", "plain",
        ]

        // No repository yet: a clear message before any upload, and nothing written.
        let missing = try Imagekit.run(common, store: store, environment: moto.environment)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(
            missing.stderr.contains("ECR repository 'vibejudge-dashboard' does not exist")
                && missing.stderr.contains("--create-repository"))
        #expect(try Self.overrides(sam, env: "dev").contains("old@sha256"))

        let pushed = try Imagekit.run(common + ["--create-repository"], store: store, environment: moto.environment)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let reference = pushed.trimmed
        #expect(reference.hasPrefix("\(registry.host)/vibejudge-dashboard@sha256:"))
        #expect(try Self.overrides(sam, env: "dev").contains(reference))
        let inspect = try TestSupport.run(
            tool("skopeo"),
            [
                "inspect", "--tls-verify=false", "--creds", "AWS:\(Self.motoPassword)",
                "docker://\(registry.host)/vibejudge-dashboard:abc1234",
            ])
        #expect(inspect.stdout.contains(String(reference.split(separator: "@").last!)), "\(inspect.stderr)")
        // The token never shows, not even in plain progress.
        for output in [pushed.stdout, pushed.stderr, missing.stderr] {
            #expect(!output.contains(Self.motoPassword) && !output.contains("wJalrXUtnFEMI"))
        }
    }

    @Test func wrongRegistryCredentialsFailClearly() async throws {
        let scratch = try TemporaryDirectory.scratch("push-401")
        let store = scratch.path("store")
        _ = try Self.smallImage(store: store, scratch: scratch)
        let moto = try MotoServer()
        defer { moto.stop() }
        let registry = try await LocalRegistry.start(htpasswd: ("AWS", "a-different-password"))
        defer { registry.stop() }
        _ = try Imagekit.run(
            ["push", "small:1", "--repository", "ecr://app", "--registry-host", registry.host, "--create-repository"],
            store: store, environment: moto.environment)
        let result = try Imagekit.run(
            ["push", "small:1", "--repository", "ecr://app", "--registry-host", registry.host, "--tag", "x"],
            store: store, environment: moto.environment)
        #expect(result.status == 3, "\(result.stderr)")
        #expect(
            result.stderr.contains("401") || result.stderr.lowercased().contains("unauthorized")
                || result.stderr.lowercased().contains("credentials"), "\(result.stderr)")
        #expect(!result.stderr.contains(Self.motoPassword))
        let badTag = try Imagekit.run(
            ["push", "small:1", "--repository", "\(registry.host)/app", "--tag", "-bad"], store: store)
        #expect(badTag.status == 2)
    }

    @Test func buildPullsItsBaseFromARegistry() async throws {
        let scratch = try TemporaryDirectory.scratch("build-pull")
        let seed = scratch.path("seed")
        _ = try Fixture.importBase(store: seed)
        let registry = try await LocalRegistry.start()
        defer { registry.stop() }
        let pushed = try Imagekit.run(
            ["push", "debian-python:bookworm", "--repository", "\(registry.host)/debian-python", "--tag", "bookworm"],
            store: seed)
        #expect(pushed.status == 0, "\(pushed.stderr)")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(BuildTests.metadataContext, in: context)
        let store = scratch.path("store")
        let built = try Imagekit.run(
            [
                "build", "-t", "pulled:1", "--build-arg", "BASE=\(registry.host)/debian-python:bookworm", "--progress",
                "plain", context.path,
            ], store: store)
        #expect(built.status == 0, "\(built.stderr)")
        #expect(try Imagekit.run(["images"], store: store).stdout.contains("\(registry.host)/debian-python"))
        // 404 and unreachable are told apart, each with the Dockerfile position.
        let missing = try Imagekit.run(
            ["build", "--build-arg", "BASE=\(registry.host)/nothing:here", context.path], store: store)
        #expect(missing.status == 2 && missing.stderr.contains("Dockerfile:3:1"), "\(missing.stderr)")
        #expect(missing.stderr.lowercased().contains("not found"), "\(missing.stderr)")
        let port = try freeTCPPort()
        let down = try Imagekit.run(["build", "--build-arg", "BASE=127.0.0.1:\(port)/x:1", context.path], store: store)
        #expect(down.status != 0 && down.stderr.contains("Dockerfile:3:1"), "\(down.stderr)")
        #expect(
            down.stderr.lowercased().contains("unreachable") || down.stderr.lowercased().contains("refused"),
            "\(down.stderr)")
    }
}
