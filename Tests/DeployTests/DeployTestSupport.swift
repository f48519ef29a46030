import Foundation
import TestSupport
import Testing

@testable import Deploy

enum DeployTestSupport {
    /// Runs `python3 -c script args...` and returns stdout; a failure carries stderr.
    static func runPython(_ script: String, _ arguments: [String]) throws -> String {
        guard let python = which("python3") else { throw TestSupportError("python3 is not on PATH") }
        return try run(python, ["-c", script] + arguments).checked().stdout
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
    ) throws -> (path: String, text: String, change: DeployChange, directory: TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let path = directory.appending("samconfig.toml").path
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
