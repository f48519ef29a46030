/// The instruction keywords Docker knows.
public enum InstructionKeyword: String, CaseIterable, Sendable {
    case from = "FROM", arg = "ARG", env = "ENV", label = "LABEL", workdir = "WORKDIR", user = "USER"
    case expose = "EXPOSE", healthcheck = "HEALTHCHECK", cmd = "CMD", entrypoint = "ENTRYPOINT"
    case shell = "SHELL", stopSignal = "STOPSIGNAL", volume = "VOLUME", onbuild = "ONBUILD"
    case copy = "COPY", add = "ADD", run = "RUN", maintainer = "MAINTAINER"
}

/// A command as written for RUN, CMD, ENTRYPOINT and HEALTHCHECK CMD.
public enum Command: Sendable, Equatable {
    /// JSON array: run directly, no shell.
    case exec([String])
    /// Plain text: run with the stage's SHELL (default `/bin/sh -c`); the shell expands variables.
    case shell(String)

    public enum Form: String, Sendable { case exec, shell }

    public var form: Form {
        if case .exec = self { return .exec }
        return .shell
    }

    /// The argv to run, given the stage's shell (`["/bin/sh", "-c"]` unless SHELL changed it).
    public func arguments(shell: [String]) -> [String] {
        switch self {
        case .exec(let args): return args
        case .shell(let text): return shell + [text]
        }
    }
}

/// `FROM [--platform=P] IMAGE [AS NAME]`
public struct FromInstruction: Sendable, Equatable {
    public var image: Word
    /// Lower-cased stage name.
    public var stageName: String?
    public var platform: Word?
}

/// One `name[=default]` of an ARG instruction.
public struct ArgDeclaration: Sendable, Equatable {
    public var name: String
    public var defaultValue: Word?
    public var location: SourceLocation
}

/// One `key=value` of ENV or LABEL (both written as they are in the file, before expansion).
public struct KeyValue: Sendable, Equatable {
    public var key: Word
    public var value: Word
}

/// HEALTHCHECK: durations in nanoseconds; 0 means "not set" (Docker's defaults apply), as in the image config.
public struct HealthcheckConfig: Sendable, Equatable {
    public var command: Command
    public var interval: Int64 = 0
    public var timeout: Int64 = 0
    public var startPeriod: Int64 = 0
    public var startInterval: Int64 = 0
    public var retries: Int = 0

    /// The image config's `Healthcheck.Test`: `["CMD", args...]` or `["CMD-SHELL", text]`.
    public var test: [String] {
        switch command {
        case .exec(let args): return ["CMD"] + args
        case .shell(let text): return ["CMD-SHELL", text]
        }
    }
}

public enum HealthcheckInstruction: Sendable, Equatable {
    /// `HEALTHCHECK NONE`: disable the check inherited from the base image (config test `["NONE"]`).
    case none
    case check(HealthcheckConfig)
}

/// COPY and ADD (ADD only differs in what it does with URLs and archives).
public struct CopyInstruction: Sendable, Equatable {
    public var sources: [Word]
    public var destination: Word
    /// `--from=STAGE|INDEX|IMAGE` (COPY only).
    public var from: Word?
    public var chown: Word?
    public var chmod: Word?
    /// `ADD --checksum=sha256:...`: the digest an http(s) source must have.
    public var checksum: Word?
    /// `ADD --unpack[=BOOL]`: whether archives are unpacked; nil is the default (local archives
    /// are, downloads are not).
    public var unpack: Bool?
    /// `ADD --keep-git-dir`: a git source keeps its `.git` directory.
    public var keepGitDirectory: Bool = false
    /// `COPY --parents`: keep each source's parent directories under the destination.
    public var parents: Bool = false
    /// `--exclude=PATTERN` (repeatable): .dockerignore-style patterns, relative to each source.
    public var excludes: [Word] = []
    public var link: Bool = false
    /// Written as a JSON array.
    public var isJSONForm: Bool = false
    /// Sources written as heredocs (`COPY <<EOF /dest`): files named after their delimiter.
    public var heredocs: [Heredoc] = []
}

public enum RunNetwork: String, Sendable, Equatable {
    case `default`, none, host
}

/// `RUN --security=`: `sandbox` (the default) or `insecure`, which the build must allow.
public enum RunSecurity: String, Sendable, Equatable {
    case sandbox, insecure
}

/// RUN [--mount=...]... [--network=...] command
public struct RunInstruction: Sendable, Equatable {
    public var command: Command
    public var mounts: [RunMount] = []
    public var network: RunNetwork = .default
    public var security: RunSecurity = .sandbox
    /// Here-documents of a shell-form command, in order.
    public var heredocs: [Heredoc] = []
}

/// `ONBUILD INSTRUCTION`: the trigger text as Docker stores it in the image config, and its parse.
public struct OnBuildTrigger: Sendable, Equatable {
    public var text: String
    public var keyword: InstructionKeyword
}

public enum Instruction: Sendable, Equatable {
    case from(FromInstruction)
    case arg([ArgDeclaration])
    case env([KeyValue])
    case label([KeyValue])
    case workdir(Word)
    /// `user[:group]`; see `UserSpec`.
    case user(Word)
    /// Port words (`80`, `53/udp`, `8000-8010/tcp`); see `ExposedPort`.
    case expose([Word])
    case healthcheck(HealthcheckInstruction)
    case cmd(Command)
    case entrypoint(Command)
    /// SHELL's JSON array.
    case shell([String])
    case stopSignal(Word)
    case volume([Word])
    case onbuild(OnBuildTrigger)
    case copy(CopyInstruction)
    case add(CopyInstruction)
    case run(RunInstruction)
    /// Deprecated; Docker writes this name into the image config's `author` field.
    case maintainer(String)

    public var keyword: InstructionKeyword {
        switch self {
        case .from: .from
        case .arg: .arg
        case .env: .env
        case .label: .label
        case .workdir: .workdir
        case .user: .user
        case .expose: .expose
        case .healthcheck: .healthcheck
        case .cmd: .cmd
        case .entrypoint: .entrypoint
        case .shell: .shell
        case .stopSignal: .stopSignal
        case .volume: .volume
        case .onbuild: .onbuild
        case .copy: .copy
        case .add: .add
        case .run: .run
        case .maintainer: .maintainer
        }
    }
}

/// An instruction with where it is: `location` is the keyword's line and column.
public struct LocatedInstruction: Sendable, Equatable {
    public var instruction: Instruction
    public var location: SourceLocation
    /// Last physical line of the instruction (after continuations).
    public var endLine: Int
    /// The instruction's text with continuations joined, as Docker records it in the history.
    public var text: String
}

/// The result of parsing: directives and the instructions in file order.
public struct ParsedDockerfile: Sendable, Equatable {
    public var file: String
    public var directives: ParserDirectives
    public var instructions: [LocatedInstruction]
    /// Non-fatal findings Docker also reports (e.g. empty continuation lines).
    public var warnings: [String]
}
