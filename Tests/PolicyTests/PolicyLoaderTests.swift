import Foundation
import TestSupport
import Testing

@testable import Policy

@Suite struct PolicyLoaderTests {
    @Test func shippedPoliciesLoad() throws {
        let policy = try loadPolicy()
        #expect(policy.name == "vibejudge-dashboard")
        #expect(policy.size?.maxUncompressed == 500_000_000)
        #expect(policy.metadata?.user == "1000")
        #expect(policy.metadata?.exposedPorts == ["8501/tcp"])
        #expect(policy.metadata?.unexposedPorts == ["22/tcp"])
        #expect(policy.healthcheck?.path == "/_stcore/health")
        #expect(policy.setuid?.allow.contains("/usr/bin/passwd") == true)
        #expect(policy.fileExistenceTests.first { $0.path == "/app" }?.uid == 1000)
        let legacy = try loadPolicy(legacyPolicyPath)
        #expect(legacy.healthcheck?.deprecatedPaths.first?.path == "/healthz")
    }

    @Test func aDirectoryMeansItsDefaultPolicy() throws {
        let path = try PolicyLoader.resolve(directory: packageRoot.appendingPathComponent("policies").path)
        #expect(path.hasSuffix("policies/default.yaml"))
    }

    /// (policy text, expected line, words the message must contain)
    static let malformed: [(String, Int, String)] = [
        ("name: x\nsize:\n  maxsize: 500MB\n", 3, "unknown key `maxsize` in size"),
        ("name: x\nsize:\n  maxUncompressed: lots\n", 3, "invalid size 'lots'"),
        ("name: x\nfailOn: fatal\n", 2, "failOn should be error, warning or info"),
        ("name: x\nuser:\n  nonRoot: maybe\n", 3, "user.nonRoot should be true or false"),
        ("name: x\nmetadataTest:\n  exposedPorts: 8501\n", 3, "should be a list of ports"),
        ("name: x\nmetadataTest:\n  exposedPorts: [\"http\"]\n", 3, "'http' is not a port"),
        ("name: x\nsuppress:\n  - rule: IK005\n    reason: \"\"\n", 4, "needs a written `reason:`"),
        ("name: x\nsuppress:\n  - rule: IK005\n", 3, "needs a written `reason:`"),
        ("name: x\nsuppress:\n  - rule: IK999\n    reason: because\n", 3, "unknown rule 'IK999'"),
        ("name: x\nfileExistenceTests:\n  - path: /app\n    permissions: rwx\n", 4, "permissions 'rwx'"),
        ("name: x\nfileExistenceTests:\n  - path: app\n", 3, "should be absolute"),
        ("name: x\nhealthcheck:\n  path: health\n", 3, "should start with '/'"),
        ("name: x\nsecrets:\n  patterns: [\"(\"]\n", 3, "not a valid regular expression"),
        ("name: x\nsize: [1, 2]\n", 2, "size should be a mapping"),
        ("name: x\nsize:\n  maxUncompressed: 1MB\n  maxUncompressed: 2MB\n", 4, "`maxUncompressed` appears twice"),
        ("name: x\nrules:\n  IK001: {severity: loud}\n", 3, "should be error, warning or info"),
        ("description: no name\n", 1, "missing `name`"),
        ("name: x\n  bad: [indent\n", 2, "not valid YAML"),
        ("schemaVersion: 2\nname: x\n", 1, "schemaVersion 2 is not supported"),
    ]

    @Test(arguments: malformed.indices)
    func malformedPoliciesNameFileAndLine(_ index: Int) throws {
        let (text, line, words) = Self.malformed[index]
        do {
            _ = try PolicyLoader.parse(text, file: "policies/x.yaml")
            Issue.record("accepted: \(text)")
        } catch {
            let message = error.description
            #expect(message.hasPrefix("policies/x.yaml:\(line): "), "\(message)")
            #expect(message.contains(words), "\(message)")
        }
    }

    @Test func sizesUseDockersUnits() throws {
        #expect(try ByteSize.parse("500MB") == 500_000_000)
        #expect(try ByteSize.parse("500 MB") == 500_000_000)
        #expect(try ByteSize.parse("1.5GB") == 1_500_000_000)
        #expect(try ByteSize.parse("512MiB") == 536_870_912)
        #expect(try ByteSize.parse("1KiB") == 1024)
        #expect(try ByteSize.parse("1kB") == 1000)
        #expect(try ByteSize.parse("2GiB") == 2_147_483_648)
        #expect(try ByteSize.parse("1234") == 1234)
        #expect(try ByteSize.parse("10B") == 10)
        for bad in ["", "MB", "5 XB", "1.2.3MB", "-5MB"] {
            #expect(throws: PolicyError.self) { try ByteSize.parse(bad) }
        }
        #expect(ByteSize.format(612_300_000) == "612.3 MB")
    }

    @Test func permissionsParseLikeLs() {
        #expect(FilePermissions.parse("drwxr-xr-x")?.bits == 0o755)
        #expect(FilePermissions.parse("drwxr-xr-x")?.type == "d")
        #expect(FilePermissions.parse("-rwsr-xr-x")?.bits == 0o4755)
        #expect(FilePermissions.parse("drwxrwxrwt")?.bits == 0o1777)
        #expect(FilePermissions.parse("rw-r--r--")?.bits == 0o644)
        #expect(FilePermissions.parse("0755")?.bits == 0o755)
        #expect(FilePermissions.string(kind: .regular, mode: 0o2755) == "-rwxr-sr-x")
        #expect(FilePermissions.parse("-rwxr-xr-q") == nil)
    }

    @Test func globsMatchPathsAndNames() {
        #expect(Glob.allows(["/tmp"], "/tmp/x/y"))
        #expect(!Glob.allows(["/tmp"], "/tmpfoo"))
        #expect(Glob.allows(["/usr/lib/*/dbus-daemon-launch-helper"], "/usr/lib/dbus-1.0/dbus-daemon-launch-helper"))
        #expect(!Glob.allows(["/usr/*/passwd"], "/usr/local/bin/passwd"))
        #expect(Glob.allows(["/usr/**/passwd"], "/usr/local/bin/passwd"))
        #expect(Glob.matches("*_TOKEN", "github_token", caseInsensitive: true))
        #expect(!Glob.matches("*_TOKEN", "TOKENIZER", caseInsensitive: true))
    }

    @Test func shellWordsSkipQuotesAndStopAtOperators() {
        #expect(Checks.shellWords("curl -fsS 'http://x:1/a b' || exit 1") == ["curl", "-fsS", "http://x:1/a b"])
        #expect(Checks.shellWords("FOO=1 python -c \"print(1)\"; true") == ["FOO=1", "python", "-c", "print(1)"])
    }
}
