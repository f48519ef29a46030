/// A point in a file: 1-based line and column (columns count characters).
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// A line and column inside the file being parsed; the file name is added when an error is raised.
struct SourcePoint: Sendable, Hashable {
    var line: Int
    var column: Int
}
