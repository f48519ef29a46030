import Foundation
import TestSupport
import Testing

/// Every exit code `imagekit --help` documents, produced by the real binary. (130, interrupted,
/// is produced in RunTests.interruptDuringRunCleansUpAndExits130, which needs a running RUN step.)
@Suite struct ExitCodeTests {
    @Test func helpDocumentsTheCodesThisSuiteChecks() throws {
        let help = try Imagekit.run(["--help"])
        #expect(help.status == 0)
        for line in [
            "0    success", "1    the image failed a check", "2    usage or input error", "3    remote error",
            "130  interrupted",
        ] {
            #expect(help.stdout.contains(line), "--help lacks '\(line)'")
        }
    }

    /// Imports a one-file image as `tag` into the scratch's store and returns the store, checking
    /// the import itself exits 0 and prints the digest.
    static func importTinyImage(_ scratch: TemporaryDirectory, tag: String, size: Int = 1) throws -> String {
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data(count: size).write(to: tree.appendingPathComponent("file"))
        let store = scratch.path("store")
        let result = try Imagekit.run(["import", tree.path, "-t", tag], store: store, directory: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("sha256:"))
        return store
    }

    @Test func zeroOnSuccess() throws {
        _ = try Self.importTinyImage(try TemporaryDirectory.scratch("exit0"), tag: "exit:0")
    }

    @Test func oneWhenAPolicyFails() throws {
        let scratch = try TemporaryDirectory.scratch("exit1")
        let store = try Self.importTinyImage(scratch, tag: "exit:1", size: 4096)
        let policy = scratch.url.appendingPathComponent("size.yaml")
        try Data("schemaVersion: 1\nname: size-only\nsize:\n  maxUncompressed: 1KB\n".utf8).write(to: policy)
        let result = try Imagekit.run(
            ["verify", "exit:1", "--policy", policy.path], store: store, directory: scratch.url)
        #expect(result.status == 1, "exit \(result.status): \(result.stdout)\(result.stderr)")
    }

    @Test func twoForUsageAndInputErrors() throws {
        let scratch = try TemporaryDirectory.scratch("exit2")
        let store = scratch.path("store")
        let unknownFlag = try Imagekit.run(["build", "--no-such-flag"], store: store, directory: scratch.url)
        #expect(unknownFlag.status == 2, "\(unknownFlag.stderr)")
        #expect(unknownFlag.stderr.contains("--no-such-flag"))
        let missingImage = try Imagekit.run(["inspect", "nosuch:image"], store: store, directory: scratch.url)
        #expect(missingImage.status == 2, "\(missingImage.stderr)")
        #expect(missingImage.stderr.hasPrefix("error: ") && missingImage.stderr.split(separator: "\n").count == 1)
    }

    @Test func threeWhenTheRegistryIsUnreachable() throws {
        let scratch = try TemporaryDirectory.scratch("exit3")
        let store = try Self.importTinyImage(scratch, tag: "exit:3")
        let refusing = try RefusingPort()
        let result = try Imagekit.run(
            ["push", "exit:3", "--repository", "127.0.0.1:\(refusing.port)/team/exit"], store: store,
            directory: scratch.url)
        #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(refusing.port)"))
    }

    @Test func threeWhenAWSIsUnreachable() throws {
        let scratch = try TemporaryDirectory.scratch("exit3aws")
        let store = try Self.importTinyImage(scratch, tag: "exit:aws")
        let refusing = try RefusingPort()
        let environment = [
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00",
            "AWS_SECRET_ACCESS_KEY": "exampleexampleexampleexampleexample00000",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(refusing.port)",
            "AWS_CONFIG_FILE": scratch.path("no-config"), "AWS_SHARED_CREDENTIALS_FILE": scratch.path("no-credentials"),
        ]
        let result = try Imagekit.run(
            ["push", "exit:aws", "--repository", "ecr://team/exit"], store: store, environment: environment,
            directory: scratch.url)
        #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("could not reach"), "\(result.stderr)")
        #expect(!result.stderr.contains("exampleexample"), "the secret must not be printed")
    }
}
