import Foundation
import Testing
import TestSupport

/// Every exit code `imagekit --help` documents, produced by the real binary. (130, interrupted,
/// is produced in RunTests.interruptDuringRunCleansUpAndExits130, which needs a running RUN step.)
@Suite struct ExitCodeTests {
    @Test func helpDocumentsTheCodesThisSuiteChecks() throws {
        let help = try Imagekit.run(["--help"])
        #expect(help.status == 0)
        for line in ["0    success", "1    the image failed a check", "2    usage or input error", "3    remote error", "130  interrupted"] {
            #expect(help.stdout.contains(line), "--help lacks '\(line)'")
        }
    }

    @Test func zeroOnSuccess() throws {
        let scratch = Scratch("exit0")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data("hello\n".utf8).write(to: tree.appendingPathComponent("hello.txt"))
        let result = try Imagekit.run(["import", tree.path, "-t", "exit:0"], store: scratch.path("store"), directory: scratch.url)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("sha256:"))
    }

    @Test func oneWhenAPolicyFails() throws {
        let scratch = Scratch("exit1")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data(count: 4096).write(to: tree.appendingPathComponent("blob"))
        let store = scratch.path("store")
        #expect(try Imagekit.run(["import", tree.path, "-t", "exit:1"], store: store).status == 0)
        let policy = scratch.url.appendingPathComponent("size.yaml")
        try Data("schemaVersion: 1\nname: size-only\nsize:\n  maxUncompressed: 1KB\n".utf8).write(to: policy)
        let result = try Imagekit.run(["verify", "exit:1", "--policy", policy.path], store: store, directory: scratch.url)
        #expect(result.status == 1, "exit \(result.status): \(result.stdout)\(result.stderr)")
    }

    @Test func twoForUsageAndInputErrors() throws {
        let scratch = Scratch("exit2")
        let store = scratch.path("store")
        let unknownFlag = try Imagekit.run(["build", "--no-such-flag"], store: store, directory: scratch.url)
        #expect(unknownFlag.status == 2, "\(unknownFlag.stderr)")
        #expect(unknownFlag.stderr.contains("--no-such-flag"))
        let missingImage = try Imagekit.run(["inspect", "nosuch:image"], store: store, directory: scratch.url)
        #expect(missingImage.status == 2, "\(missingImage.stderr)")
        #expect(missingImage.stderr.hasPrefix("error: ") && missingImage.stderr.split(separator: "\n").count == 1)
    }

    @Test func threeWhenTheRegistryIsUnreachable() throws {
        let scratch = Scratch("exit3")
        let store = scratch.path("store")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: tree.appendingPathComponent("x"))
        #expect(try Imagekit.run(["import", tree.path, "-t", "exit:3"], store: store).status == 0)
        let refusing = try RefusingPort()
        let result = try Imagekit.run(["push", "exit:3", "--repository", "127.0.0.1:\(refusing.port)/team/exit"], store: store, directory: scratch.url)
        #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("127.0.0.1:\(refusing.port)"))
    }

    @Test func threeWhenAWSIsUnreachable() throws {
        let scratch = Scratch("exit3aws")
        let store = scratch.path("store")
        let tree = scratch.url.appendingPathComponent("tree")
        try FileManager.default.createDirectory(at: tree, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: tree.appendingPathComponent("x"))
        #expect(try Imagekit.run(["import", tree.path, "-t", "exit:aws"], store: store).status == 0)
        let refusing = try RefusingPort()
        let environment = [
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEEXAMPLE00", "AWS_SECRET_ACCESS_KEY": "exampleexampleexampleexampleexample00000",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:\(refusing.port)",
            "AWS_CONFIG_FILE": scratch.path("no-config"), "AWS_SHARED_CREDENTIALS_FILE": scratch.path("no-credentials"),
        ]
        let result = try Imagekit.run(["push", "exit:aws", "--repository", "ecr://team/exit"], store: store, environment: environment, directory: scratch.url)
        #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
        #expect(result.stderr.contains("could not reach"), "\(result.stderr)")
        #expect(!result.stderr.contains("exampleexample"), "the secret must not be printed")
    }
}
