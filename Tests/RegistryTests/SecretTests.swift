import Foundation
import OCI
import Registry
import Store
import TestSupport
import Testing

/// Runs the built `imagekit` executable (swift build --build-tests builds it next to the tests).
enum CLIRun {
    static func imagekit(
        _ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:]
    ) throws -> ProcessResult {
        let binary = Paths.packageRoot.appendingPathComponent(".build/debug/imagekit")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSupportError("\(binary.path) is missing; run `swift build --build-tests` first")
        }
        return try run(binary.path, arguments, stdin: Data((stdin ?? "").utf8), environment: extra)
    }
}

@Suite(.serialized) struct SecretTests {
    @Test func noPasswordInAnyOutputOfPushAndPull() async throws {
        let password = "Pa55-very-secret-XYZ"
        let user = "deployer"
        try await LocalRegistry.with(htpasswd: (user, password)) { registry in
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 2)
            let configDir = try TemporaryDirectory(prefix: "imagekit-docker-config")
            let auth = Data("\(user):\(password)".utf8).base64EncodedString()
            try Data(#"{"auths":{"\#(registry.host)":{"auth":"\#(auth)"}}}"#.utf8).write(
                to: configDir.appending("config.json"))
            let emptyConfig = try TemporaryDirectory(prefix: "imagekit-docker-config")
            let digestFile = storeDir.appending("pushed.txt")

            var runs: [ProcessResult] = []
            let push = try CLIRun.imagekit(
                [
                    "push", "--store", storeDir.path, "app:1", "--repository", "\(registry.host)/team/app",
                    "--tag", "1", "--tag", "latest", "--username", user, "--password-stdin",
                    "--progress", "plain", "--digest-file", digestFile.path,
                ],
                stdin: password + "\n", environment: ["DOCKER_CONFIG": emptyConfig.path])
            runs.append(push)
            #expect(push.status == 0, "push failed: \(push.stderr)")
            #expect(push.stdout == "\(registry.host)/team/app@\(image.digest)\n")
            #expect(try String(contentsOf: digestFile, encoding: .utf8) == push.stdout)

            let json = try CLIRun.imagekit(
                [
                    "push", "--store", storeDir.path, "app:1", "--repository", "\(registry.host)/team/app",
                    "--json", "--progress", "plain",
                ], environment: ["DOCKER_CONFIG": configDir.path])
            runs.append(json)
            #expect(json.status == 0, "push --json failed: \(json.stderr)")
            let result = try JSONDecoder().decode(PushResult.self, from: Data(json.stdout.utf8))
            #expect(result.digest == image.digest)
            #expect(result.blobsUploaded == 0)

            let pullStore = try TemporaryDirectory()
            let pull = try CLIRun.imagekit(
                ["pull", "--store", pullStore.path, "\(registry.host)/team/app:latest", "--progress", "plain"],
                environment: ["DOCKER_CONFIG": configDir.path])
            runs.append(pull)
            #expect(pull.status == 0, "pull failed: \(pull.stderr)")
            #expect(pull.stdout == "\(image.digest)\n")

            let wrongPassword = password + "-wrong"
            let denied = try CLIRun.imagekit(
                [
                    "push", "--store", storeDir.path, "app:1", "--repository", "\(registry.host)/team/app",
                    "--username", user, "--password-stdin", "--progress", "plain",
                ],
                stdin: wrongPassword, environment: ["DOCKER_CONFIG": emptyConfig.path])
            runs.append(denied)
            #expect(denied.status == 3)
            #expect(denied.stderr.contains("401"))

            let missing = try CLIRun.imagekit(
                ["pull", "--store", pullStore.path, "\(registry.host)/team/nothing:1", "--progress", "plain"],
                environment: ["DOCKER_CONFIG": configDir.path])
            runs.append(missing)
            #expect(missing.status == 2)

            let badTag = try CLIRun.imagekit(
                [
                    "push", "--store", storeDir.path, "app:1", "--repository", "\(registry.host)/team/app", "--tag",
                    ".bad",
                ],
                environment: ["DOCKER_CONFIG": configDir.path])
            runs.append(badTag)
            #expect(badTag.status == 2)

            let secrets = [password, wrongPassword, auth, Data("\(user):\(wrongPassword)".utf8).base64EncodedString()]
            for run in runs {
                for secret in secrets {
                    #expect(
                        !run.stdout.contains(secret) && !run.stderr.contains(secret),
                        "a secret leaked into the output: \(run.stderr)")
                }
            }
        }
    }
}
