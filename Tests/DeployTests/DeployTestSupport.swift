import Foundation
import Testing

@testable import Deploy

enum DeployTestSupport {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "imagekit-deploy-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func python() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/python3") {
            return "\(directory)/python3"
        }
        throw Failure(description: "python3 is not on PATH")
    }

    /// Runs `python3 -c script args...` and returns stdout; a failure carries stderr.
    static func runPython(_ script: String, _ arguments: [String]) throws -> String {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try python())
        process.arguments = ["-c", script] + arguments
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "python3 failed: \((try? String(contentsOf: err, encoding: .utf8)) ?? "")")
        }
        return try String(contentsOf: out, encoding: .utf8)
    }

    static let tomlScript = #"""
        import json, sys, tomllib
        with open(sys.argv[1], "rb") as f:
            doc = tomllib.load(f)
        table = doc.get(sys.argv[2], {}).get(sys.argv[3], {}).get("parameters", {})
        print(json.dumps({"version": doc.get("version"), "overrides": table.get("parameter_overrides"), "table": table}))
        """#

    /// What Python's `tomllib` reads from `[env.table.parameters]`: `parameter_overrides`, the whole table and `version`.
    static func tomllib(
        _ path: String, env: String = "default", table: String = "deploy"
    ) throws -> (overrides: Any?, table: [String: Any], version: Double?) {
        let output = try runPython(tomlScript, [path, env, table])
        let object = try JSONSerialization.jsonObject(with: Data(output.utf8)) as! [String: Any]
        return (
            object["overrides"].flatMap { $0 is NSNull ? nil : $0 }, object["table"] as? [String: Any] ?? [:],
            object["version"] as? Double
        )
    }

    /// Writes `text` to a fresh samconfig.toml, edits it, and returns the path and the new text.
    static func editFile(
        _ text: String, env: String = "default", key: String = "ImageUri", value: String
    ) throws -> (path: String, text: String, change: DeployChange, directory: URL) {
        let directory = try temporaryDirectory()
        let path = directory.appendingPathComponent("samconfig.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let change = try SAMConfigEditor(path: path, environment: env).setParameter(key, to: value)
        let result = try String(contentsOfFile: path, encoding: .utf8)
        return (path, result, change, directory)
    }

    /// Lines that differ between two texts of the same line count.
    static func changedLines(_ before: String, _ after: String) -> [Int] {
        let a = before.components(separatedBy: "\n"), b = after.components(separatedBy: "\n")
        guard a.count == b.count else { return [-1] }
        return zip(a, b).enumerated().filter { $0.element.0 != $0.element.1 }.map { $0.offset + 1 }
    }
}
