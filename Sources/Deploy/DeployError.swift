import Foundation

/// Errors of the deployment-file editors, each naming the file (and line, column) and what to do.
public enum DeployError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file could not be parsed at this place.
    case syntax(file: String, line: Int, column: Int?, message: String)
    /// The file parses but has a shape the editor cannot change safely.
    case unsupported(file: String, line: Int?, message: String)
    case containerNotFound(file: String, name: String, available: [String])
    case read(file: String, detail: String)
    case write(file: String, detail: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .syntax(file, line, column, message):
            if let column { return "\(file):\(line):\(column): \(message)" }
            return "\(file):\(line): \(message)"
        case let .unsupported(file, line, message):
            if let line { return "\(file):\(line): \(message)" }
            return "\(file): \(message)"
        case let .containerNotFound(file, name, available):
            let names =
                available.isEmpty
                ? "it has no container definitions" : "containers: \(available.joined(separator: ", "))"
            return "\(file): no container named \"\(name)\" in the task definition (\(names)); pass one of these names"
        case let .read(file, detail):
            return "\(file): cannot read the file: \(detail)"
        case let .write(file, detail):
            return "\(file): cannot write the file: \(detail); the original file is unchanged"
        case let .invalidArgument(message):
            return message
        }
    }
}

/// What an edit changed, for the command's report.
public struct DeployChange: Sendable, Equatable {
    public var file: String
    /// 1-based line of the edited (or inserted) value.
    public var line: Int
    /// Where in the file, e.g. `[dev.deploy.parameters] parameter_overrides`.
    public var location: String
    /// The value before the edit, nil when the entry was created.
    public var previousValue: String?
    /// False when the file already held the value and was left untouched.
    public var modified: Bool
}
