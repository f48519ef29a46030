import Foundation
import TestSupport
import Testing

/// The repository root, found from this file's path (tests run from anywhere).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

extension TemporaryDirectory {
    /// A scratch directory on /var/tmp, which is disk-backed: build stores hold whole base images.
    static func scratch(_ name: String = "e2e") throws -> TemporaryDirectory {
        try TemporaryDirectory(prefix: "imagekit-\(name)", base: URL(fileURLWithPath: "/var/tmp"))
    }
}

/// A program's path: on PATH or in Debian's sbin directories (runc, umoci), else /usr/bin.
func tool(_ name: String) -> String { which(name) ?? "/usr/bin/\(name)" }

enum Imagekit {
    /// The binary built next to this test bundle (`swift build` puts both in .build/debug).
    static let binary: String = {
        let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [
            bundleDir.appendingPathComponent("imagekit"),
            bundleDir.deletingLastPathComponent().appendingPathComponent("imagekit"),
            repositoryRoot.appendingPathComponent(".build/debug/imagekit"),
        ] {
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
        }
        return repositoryRoot.appendingPathComponent(".build/debug/imagekit").path
    }()

    @discardableResult
    static func run(
        _ arguments: [String], store: String? = nil, stdin: URL? = nil, environment: [String: String] = [:],
        directory: URL? = nil
    ) throws -> ProcessResult {
        var args = arguments
        if let store { args = ["--store", store] + args }
        return try TestSupport.run(binary, args, stdinFile: stdin, environment: environment, directory: directory)
    }
}

enum Fixture {
    /// The Debian base rootfs tarball (debootstrap minbase + python3 + venv + CA bundle), built
    /// once and cached by scripts/base-fixture.sh.
    static let baseTar: String = {
        if let given = ProcessInfo.processInfo.environment["IMAGEKIT_TEST_BASE_TAR"],
            FileManager.default.fileExists(atPath: given)
        {
            return given
        }
        let result = try? TestSupport.run(
            "/bin/bash", [repositoryRoot.appendingPathComponent("scripts/base-fixture.sh").path])
        return result?.trimmed ?? ""
    }()

    /// Imports the base fixture into `store` as debian-python:bookworm.
    static func importBase(store: String) throws -> String {
        // Level 1: the fixture is imported many times; its compression is not what a test checks.
        let result = try Imagekit.run(
            [
                "import", baseTar, "-t", "debian-python:bookworm",
                "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            ],
            store: store, environment: ["IMAGEKIT_COMPRESSION_LEVEL": "1"])
        #expect(result.status == 0, "import of the base fixture failed: \(result.stderr)")
        return result.trimmed
    }
}
