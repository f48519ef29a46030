import Foundation
import Testing

/// The repository root, found from this file's path (tests run from anywhere).
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A directory removed when the value goes away.
final class Scratch: @unchecked Sendable {
    let url: URL
    init(_ name: String = "e2e") {
        url = URL(fileURLWithPath: "/var/tmp").appendingPathComponent("imagekit-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ relative: String) -> String { url.appendingPathComponent(relative).path }
}

struct ProcessResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    var lines: [String] { stdout.split(separator: "\n").map(String.init) }
}

/// Runs a program to completion; output is collected from files so large outputs cannot block.
@discardableResult
func run(
    _ executable: String, _ arguments: [String], stdin: URL? = nil, environment: [String: String] = [:],
    directory: URL? = nil
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    process.environment = env
    if let directory { process.currentDirectoryURL = directory }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("ik-out-\(UUID().uuidString)")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("ik-err-\(UUID().uuidString)")
    FileManager.default.createFile(atPath: out.path, contents: nil)
    FileManager.default.createFile(atPath: err.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = try stdin.map { try FileHandle(forReadingFrom: $0) } ?? FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return ProcessResult(
        status: process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// Finds a program on PATH (Debian puts runc and umoci in /usr/sbin or /usr/bin).
func tool(_ name: String) -> String {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") + [
        "/usr/sbin", "/usr/bin", "/sbin",
    ] {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return "/usr/bin/\(name)"
}

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
        return try EndToEndTests.run(binary, args, stdin: stdin, environment: environment, directory: directory)
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
        let result = try? EndToEndTests.run(
            "/bin/bash", [repositoryRoot.appendingPathComponent("scripts/base-fixture.sh").path])
        return result?.stdout.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
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
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
