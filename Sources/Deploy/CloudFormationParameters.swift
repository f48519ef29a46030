import Foundation

/// Sets one parameter in a CloudFormation parameters file, in either shape the AWS tools use:
/// `[{"ParameterKey": "K", "ParameterValue": "V"}, ...]` (`aws cloudformation deploy/create-stack --parameters file://`)
/// or `{"Parameters": {"K": "V"}, ...}` (CodePipeline template configuration).
/// Only the value's bytes change (or one entry is appended); order and formatting stay as written.
public struct CloudFormationParameters: Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    /// Sets `key` to `value`, writing atomically when something changed. A missing file is created in the list shape.
    @discardableResult
    public func setParameter(_ key: String, to value: String) throws -> DeployChange {
        guard let original = try AtomicFile.load(path) else {
            let text =
                "[\n  {\n    \"ParameterKey\": \(JSONScanner.quote(key)),\n    \"ParameterValue\": \(JSONScanner.quote(value))\n  }\n]\n"
            try AtomicFile.save(text, to: path)
            return DeployChange(
                file: path, line: 4, location: "ParameterValue of \(key)", previousValue: nil, modified: true)
        }
        let (text, change) = try Self.edit(original, fileName: path, key: key, value: value)
        if change.modified { try AtomicFile.save(text, to: path) }
        return change
    }

    /// The edit without touching the disk.
    public static func edit(
        _ text: String, fileName: String = "parameters.json", key: String,
        value: String
    ) throws -> (text: String, change: DeployChange) {
        guard !key.isEmpty else { throw DeployError.invalidArgument("the parameter name is empty") }
        let scanner = try JSONScanner(text: text, fileName: fileName)
        var patcher = JSONPatcher(scanner)
        let root = scanner.root
        let quoted = JSONScanner.quote(value)
        var previous: String?
        var location: String
        var editOffset: Int

        if let elements = root.elements {
            location = "ParameterValue of \(key)"
            let match = elements.last { $0.member("ParameterKey")?.value.string == key }
            if let entry = match {
                guard entry.members != nil else { throw scanner.error("expected an object", at: entry.start) }
                if let current = entry.member("ParameterValue") {
                    previous = current.value.string
                    patcher.replace(current.value, with: quoted)
                    editOffset = current.value.start
                } else if let reuse = entry.member("UsePreviousValue") {
                    // A value and UsePreviousValue together are rejected by CloudFormation: the value replaces it.
                    patcher.replace(
                        from: reuse.keyStart, to: reuse.value.end,
                        with: "\"ParameterValue\"" + patcher.separator(of: reuse) + quoted)
                    editOffset = reuse.keyStart
                } else {
                    patcher.appendMember(to: entry, key: "ParameterValue", valueText: quoted)
                    editOffset = entry.start
                }
            } else {
                for element in elements
                where element.members == nil || element.member("ParameterKey")?.value.string == nil {
                    throw scanner.error(
                        "each entry must be an object with a \"ParameterKey\" string", at: element.start)
                }
                patcher.appendElement(
                    to: root,
                    text: newEntry(
                        after: elements.last, scanner: scanner, patcher: patcher,
                        key: key, value: value))
                editOffset = root.end
            }
        } else if root.members != nil {
            guard let parameters = root.member("Parameters") else {
                throw DeployError.unsupported(
                    file: fileName, line: 1,
                    message:
                        "expected a list of {\"ParameterKey\": ..., \"ParameterValue\": ...} or an object with \"Parameters\""
                )
            }
            guard parameters.value.members != nil else {
                throw scanner.error("\"Parameters\" must be an object of name: value", at: parameters.value.start)
            }
            location = "Parameters.\(key)"
            if let current = parameters.value.member(key) {
                previous = current.value.string
                patcher.replace(current.value, with: quoted)
                editOffset = current.value.start
            } else {
                patcher.appendMember(to: parameters.value, key: key, valueText: quoted)
                editOffset = parameters.value.end
            }
        } else {
            throw DeployError.unsupported(
                file: fileName, line: 1,
                message:
                    "expected a list of {\"ParameterKey\": ..., \"ParameterValue\": ...} or an object with \"Parameters\""
            )
        }
        let output = patcher.apply()
        _ = try JSONScanner(text: output, fileName: fileName)
        return (
            output,
            DeployChange(
                file: fileName, line: scanner.line(of: editOffset), location: location,
                previousValue: previous, modified: output != text)
        )
    }

    /// A new list entry shaped like the one before it (one line, or one member per line with the same indents).
    static func newEntry(
        after previous: JSONScanner.Value?, scanner: JSONScanner, patcher: JSONPatcher,
        key: String, value: String
    ) -> String {
        let keyText = JSONScanner.quote(key)
        let valueText = JSONScanner.quote(value)
        guard let previous, let first = previous.members?.first else {
            return "{\"ParameterKey\": \(keyText), \"ParameterValue\": \(valueText)}"
        }
        let separator = patcher.separator(of: first)
        guard let memberIndent = scanner.indentation(of: first.keyStart) else {
            return "{\"ParameterKey\"\(separator)\(keyText), \"ParameterValue\"\(separator)\(valueText)}"
        }
        let closingIndent = scanner.indentation(of: previous.start) ?? ""
        let newline = scanner.newline
        return "{" + newline + memberIndent + "\"ParameterKey\"" + separator + keyText + "," + newline
            + memberIndent + "\"ParameterValue\"" + separator + valueText + newline + closingIndent + "}"
    }
}
