/// Everything the frontend can reject, each with the file, line and column it is about.
public enum DockerfileError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Malformed text: quotes, JSON, continuations, flags, arguments of an instruction.
    case syntax(SourceLocation, String)
    /// A keyword that is not a Dockerfile instruction.
    case unknownInstruction(SourceLocation, keyword: String, suggestion: String?)
    /// A construct Docker accepts but this builder does not implement.
    case unsupported(SourceLocation, String)
    /// `$VAR` / `${VAR...}` substitution that cannot be expanded.
    case expansion(SourceLocation, String)
    /// Stage graph problems: unknown stage or target, cycles, forward references.
    case stage(SourceLocation, String)
    /// A malformed `.dockerignore` line.
    case ignoreFile(SourceLocation, String)
    /// COPY/ADD sources and destination that cannot be resolved.
    case copySource(SourceLocation, String)

    public var location: SourceLocation {
        switch self {
        case .syntax(let l, _), .unsupported(let l, _), .expansion(let l, _), .stage(let l, _),
            .ignoreFile(let l, _), .copySource(let l, _):
            return l
        case .unknownInstruction(let l, _, _):
            return l
        }
    }

    public var message: String {
        switch self {
        case .syntax(_, let m), .unsupported(_, let m), .expansion(_, let m), .stage(_, let m),
            .ignoreFile(_, let m), .copySource(_, let m):
            return m
        case .unknownInstruction(_, let keyword, let suggestion):
            var text = "unknown instruction: \(keyword)"
            if let suggestion {
                text += " (did you mean \(suggestion)?)"
            } else {
                text +=
                    "; valid instructions are \(InstructionKeyword.allCases.map(\.rawValue).joined(separator: ", "))"
            }
            return text
        }
    }

    public var description: String {
        let l = location
        if l.line <= 0 { return "\(l.file): \(message)" }
        return "\(l.file):\(l.line):\(l.column): \(message)"
    }
}
