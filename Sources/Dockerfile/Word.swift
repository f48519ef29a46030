/// A piece of Dockerfile text as written (quotes, escapes and `$VAR` still in it) with where it came from.
/// Equality compares the text and the starting location only.
public struct Word: Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var location: SourceLocation
    /// Location of each character of `text`, for errors that point inside the word.
    var points: [SourcePoint]

    /// A word written on one line starting at `location`.
    public init(_ text: String, location: SourceLocation) {
        self.text = text
        self.location = location
        self.points = (0..<text.count).map { SourcePoint(line: location.line, column: location.column + $0) }
    }

    init(text: String, file: String, points: [SourcePoint], fallback: SourcePoint) {
        self.text = text
        let first = points.first ?? fallback
        self.location = SourceLocation(file: file, line: first.line, column: first.column)
        self.points = points
    }

    /// The location of the character at `offset` (clamped to the word).
    public func location(atOffset offset: Int) -> SourceLocation {
        guard !points.isEmpty else { return location }
        let p = points[max(0, min(offset, points.count - 1))]
        return SourceLocation(file: location.file, line: p.line, column: p.column)
    }

    /// The same location with a new text, e.g. after variable expansion.
    func replacingText(_ newText: String) -> Word {
        var copy = self
        copy.text = newText
        if copy.points.count != newText.count {
            let start = SourcePoint(line: location.line, column: location.column)
            copy.points = Array(repeating: start, count: newText.count)
        }
        return copy
    }

    public var description: String { text }

    public static func == (lhs: Word, rhs: Word) -> Bool {
        lhs.text == rhs.text && lhs.location == rhs.location
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text)
        hasher.combine(location)
    }
}
