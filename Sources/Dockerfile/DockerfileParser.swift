import Foundation

/// Parses Dockerfile text into located, typed instructions, following BuildKit's parser.
public struct DockerfileParser: Sendable {
    /// The name used in error messages (`Dockerfile:3:1: ...`).
    public var file: String

    public init(file: String = "Dockerfile") { self.file = file }

    /// Reads and parses a file; errors name the file as given.
    public static func parse(contentsOf url: URL, displayName: String? = nil) throws -> ParsedDockerfile {
        let name = displayName ?? url.lastPathComponent
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw DockerfileError.syntax(
                SourceLocation(file: name, line: 0, column: 0),
                "cannot read the Dockerfile at \(url.path): \(error.localizedDescription); check the path given with -f"
            )
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DockerfileError.syntax(
                SourceLocation(file: name, line: 0, column: 0), "the Dockerfile is not UTF-8 text; save it as UTF-8")
        }
        return try DockerfileParser(file: name).parse(text)
    }

    public func parse(_ text: String) throws -> ParsedDockerfile {
        var lexer = Lexer(file: file)
        let lines = try lexer.logicalLines(text)
        let context = Context(file: file, escape: lexer.directives.escape)
        var instructions: [LocatedInstruction] = []
        var warnings: [String] = []
        for line in lines {
            let end =
                line.points.last.map { SourcePoint(line: $0.line, column: $0.column + 1) }
                ?? SourcePoint(line: line.startLine, column: 1)
            let span = Span(chars: line.chars, points: line.points, end: end).trimmed()
            let parsed = try context.instruction(span, endLine: line.endLine, heredocs: line.heredocs)
            if line.hadEmptyContinuationLine {
                warnings.append(
                    "\(file):\(line.startLine): empty continuation line in `\(parsed.text)`; empty lines inside an instruction are deprecated"
                )
            }
            instructions.append(parsed)
        }
        if instructions.isEmpty {
            throw DockerfileError.syntax(
                SourceLocation(file: file, line: 1, column: 1),
                "the Dockerfile has no instructions; it needs at least a FROM line")
        }
        return ParsedDockerfile(
            file: file, directives: lexer.directives, instructions: instructions, warnings: warnings)
    }
}

private enum FlagKind { case string, bool, list }

private struct Context {
    let file: String
    let escape: Character

    var expander: VariableExpander { VariableExpander(escape: escape) }

    func loc(_ p: SourcePoint) -> SourceLocation { SourceLocation(file: file, line: p.line, column: p.column) }

    func instruction(_ span: Span, endLine: Int, heredocs: [Heredoc] = []) throws -> LocatedInstruction {
        let (keywordSpan, restSpan) = span.splitFirstWhitespace()
        let keywordText = keywordSpan.string
        let location = loc(keywordSpan.start)
        guard let keyword = InstructionKeyword(rawValue: keywordText.uppercased()) else {
            throw DockerfileError.unknownInstruction(
                location, keyword: keywordText, suggestion: Self.suggest(keywordText))
        }
        let rest = restSpan ?? Span(chars: [], points: [], end: span.end)
        let (rawFlags, argsUntrimmed) = rest.extractFlags(file: file)
        let args = argsUntrimmed.trimmed()
        let instruction = try build(
            keyword, location: location, flags: rawFlags, args: args, whole: span, heredocs: heredocs)
        return LocatedInstruction(instruction: instruction, location: location, endLine: endLine, text: span.string)
    }

    static func suggest(_ word: String) -> String? {
        let upper = word.uppercased()
        var best: (String, Int)? = nil
        for k in InstructionKeyword.allCases {
            let d = StageGraph.distance(upper, k.rawValue)
            if d <= 2, d < (best?.1 ?? Int.max) { best = (k.rawValue, d) }
        }
        return best?.0
    }

    // MARK: flags

    struct Flags {
        var strings: [String: RawFlag] = [:]
        var bools: [String: Bool] = [:]
        var lists: [String: [RawFlag]] = [:]
        var used: [RawFlag] = []
    }

    func flags(
        _ raw: [RawFlag], for keyword: InstructionKeyword, allowed: [String: FlagKind],
        rejected: [String: String] = [:]
    ) throws -> Flags {
        var result = Flags()
        for flag in raw {
            let name = flag.name
            if let why = rejected[name] {
                throw DockerfileError.unsupported(
                    flag.location, "\(keyword.rawValue) --\(name) is not supported: \(why)")
            }
            guard let kind = allowed[name] else {
                let names = allowed.keys.sorted().map { "--" + $0 }.joined(separator: ", ")
                let accepted =
                    names.isEmpty ? "\(keyword.rawValue) takes no flags" : "\(keyword.rawValue) accepts \(names)"
                throw DockerfileError.syntax(
                    flag.location, "unknown flag --\(name) for \(keyword.rawValue); \(accepted)")
            }
            switch kind {
            case .string:
                guard flag.value != nil else {
                    throw DockerfileError.syntax(
                        flag.location, "missing a value on flag --\(name): write --\(name)=VALUE")
                }
                if result.strings[name] != nil {
                    throw DockerfileError.syntax(flag.location, "duplicate flag --\(name); give it once")
                }
                result.strings[name] = flag
            case .list:
                guard flag.value != nil else {
                    throw DockerfileError.syntax(
                        flag.location, "missing a value on flag --\(name): write --\(name)=VALUE")
                }
                result.lists[name, default: []].append(flag)
            case .bool:
                switch flag.value?.lowercased() {
                case nil, "true": result.bools[name] = true
                case "false": result.bools[name] = false
                default:
                    throw DockerfileError.syntax(
                        flag.location, "--\(name)=\(flag.value ?? "") must be true or false (or just --\(name))")
                }
            }
            result.used.append(flag)
        }
        return result
    }

    // MARK: instructions

    /// What every instruction parser gets: the keyword, where it stands, its raw flags and arguments.
    struct InstructionInput {
        let keyword: InstructionKeyword
        let location: SourceLocation
        let flags: [RawFlag]
        let args: Span
        let heredocs: [Heredoc]

        func requireArgs(_ usage: String) throws {
            if args.isEmpty {
                throw DockerfileError.syntax(location, "\(keyword.rawValue) requires an argument: \(usage)")
            }
        }
    }

    /// One small parser per instruction, as BuildKit's dispatch does.
    func build(
        _ keyword: InstructionKeyword, location: SourceLocation, flags raw: [RawFlag], args: Span, whole: Span,
        heredocs: [Heredoc] = []
    ) throws -> Instruction {
        let input = InstructionInput(keyword: keyword, location: location, flags: raw, args: args, heredocs: heredocs)
        switch keyword {
        case .from: return try fromInstruction(input)
        case .arg: return try argInstruction(input)
        case .env, .label: return try keyValueInstruction(input)
        case .workdir, .user, .stopSignal: return try singleWordInstruction(input)
        case .maintainer: return try maintainerInstruction(input)
        case .expose: return try exposeInstruction(input)
        case .healthcheck: return try healthcheckInstruction(input)
        case .cmd, .entrypoint: return try commandInstruction(input)
        case .shell: return try shellInstruction(input)
        case .volume: return try volumeInstruction(input)
        case .copy, .add: return try copyInstruction(input)
        case .run: return try runInstruction(input)
        case .onbuild: return try onbuildInstruction(input)
        }
    }

    /// FROM [--platform=P] IMAGE [AS NAME]
    private func fromInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        let f = try flags(raw, for: keyword, allowed: ["platform": .string])
        let fields = args.whitespaceFields()
        let usage = "FROM [--platform=PLATFORM] IMAGE [AS NAME]"
        guard fields.count == 1 || (fields.count == 3 && fields[1].string.lowercased() == "as") else {
            throw DockerfileError.syntax(location, "FROM requires either one or three arguments: \(usage)")
        }
        let image = fields[0].word(file: file)
        try expander.check(image)
        var stageName: String? = nil
        if fields.count == 3 {
            let n = fields[2].string.lowercased()
            guard Self.isValidStageName(n) else {
                throw DockerfileError.syntax(
                    loc(fields[2].start),
                    "invalid stage name \"\(fields[2].string)\": a name starts with a letter and has only letters, digits, '-', '_' and '.'"
                )
            }
            stageName = n
        }
        let platform = f.strings["platform"]?.valueWord
        if let platform { try expander.check(platform) }
        return .from(FromInstruction(image: image, stageName: stageName, platform: platform))
    }

    /// ARG NAME[=DEFAULT] ...
    private func argInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        _ = try flags(raw, for: keyword, allowed: [:])
        let words = args.quotedWords(escape: escape)
        guard !words.isEmpty else {
            throw DockerfileError.syntax(location, "ARG requires at least one argument: ARG NAME[=DEFAULT]")
        }
        return .arg(
            try words.map { w in
                let at = loc(w.start)
                if let eq = w.chars.firstIndex(of: "=") {
                    let n = String(w.chars[..<eq])
                    guard !n.isEmpty else {
                        throw DockerfileError.syntax(at, "ARG names can not be blank: write ARG NAME=VALUE")
                    }
                    let value = w.slice((eq + 1)..<w.chars.count).word(file: file)
                    try expander.check(value)
                    return ArgDeclaration(name: n, defaultValue: value, location: at)
                }
                return ArgDeclaration(name: w.string, defaultValue: nil, location: at)
            })
    }

    /// ENV and LABEL: KEY=VALUE ... or the legacy KEY VALUE
    private func keyValueInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        let name = input.keyword.rawValue
        _ = try flags(raw, for: keyword, allowed: [:])
        let words = args.quotedWords(escape: escape)
        guard !words.isEmpty else {
            throw DockerfileError.syntax(location, "\(name) requires at least one argument: \(name) KEY=VALUE ...")
        }
        var pairs: [KeyValue] = []
        if !words[0].chars.contains("=") {
            let (key, value) = args.splitFirstWhitespace()
            guard let value else {
                throw DockerfileError.syntax(
                    location, "\(name) must have two arguments: \(name) KEY=VALUE (or the legacy \(name) KEY VALUE)"
                )
            }
            pairs.append(KeyValue(key: key.word(file: file), value: value.word(file: file)))
        } else {
            for w in words {
                guard let eq = w.chars.firstIndex(of: "=") else {
                    throw DockerfileError.syntax(
                        loc(w.start),
                        "can't find = in \"\(w.string)\"; \(name) must be of the form \(name) KEY=VALUE ...")
                }
                guard eq > 0 else {
                    throw DockerfileError.syntax(
                        loc(w.start), "\(name) names can not be blank: write \(name) KEY=VALUE")
                }
                pairs.append(
                    KeyValue(
                        key: w.slice(0..<eq).word(file: file),
                        value: w.slice((eq + 1)..<w.chars.count).word(file: file)))
            }
        }
        for p in pairs {
            try expander.check(p.key)
            try expander.check(p.value)
        }
        return keyword == .env ? .env(pairs) : .label(pairs)
    }

    /// WORKDIR, USER and STOPSIGNAL: one word each
    private func singleWordInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        let name = input.keyword.rawValue
        _ = try flags(raw, for: keyword, allowed: [:])
        guard !args.isEmpty else {
            let usage =
                keyword == .workdir
                ? "WORKDIR /path" : keyword == .user ? "USER user[:group]" : "STOPSIGNAL SIGTERM"
            throw DockerfileError.syntax(location, "\(name) requires exactly one argument: \(usage)")
        }
        let word = args.word(file: file)
        try expander.check(word)
        switch keyword {
        case .workdir: return .workdir(word)
        case .user: return .user(word)
        default:
            if !word.text.contains("$") { try StopSignal.validate(word) }
            return .stopSignal(word)
        }
    }

    /// MAINTAINER NAME (deprecated, kept verbatim)
    private func maintainerInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let raw = input.flags
        let args = input.args
        _ = try flags(raw, for: keyword, allowed: [:])
        try input.requireArgs("MAINTAINER NAME (better: LABEL org.opencontainers.image.authors=NAME)")
        return .maintainer(args.string)
    }

    /// EXPOSE PORT[/PROTO] ...
    private func exposeInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        _ = try flags(raw, for: keyword, allowed: [:])
        let words = args.whitespaceFields().map { $0.word(file: file) }
        guard !words.isEmpty else {
            throw DockerfileError.syntax(location, "EXPOSE requires at least one argument: EXPOSE 80/tcp")
        }
        for w in words {
            try expander.check(w)
            if !w.text.contains("$") { _ = try ExposedPort.keys(w) }
        }
        return .expose(words)
    }

    /// HEALTHCHECK [OPTIONS] CMD ... | NONE
    private func healthcheckInstruction(_ input: InstructionInput) throws -> Instruction {
        let location = input.location
        let raw = input.flags
        let args = input.args
        return .healthcheck(try healthcheck(raw, location: location, args: args))
    }

    /// CMD and ENTRYPOINT: exec (JSON) or shell form
    private func commandInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let raw = input.flags
        let args = input.args
        let name = input.keyword.rawValue
        _ = try flags(raw, for: keyword, allowed: [:])
        try input.requireArgs("\(name) [\"executable\", \"arg\"] or \(name) command text")
        let command = try self.command(args, keyword: name)
        return keyword == .cmd ? .cmd(command) : .entrypoint(command)
    }

    /// SHELL ["executable", "arg"]: JSON form only
    private func shellInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        _ = try flags(raw, for: keyword, allowed: [:])
        var reader = JSONArrayReader(args, file: file)
        switch reader.read() {
        case .strings(let words):
            guard !words.isEmpty else {
                throw DockerfileError.syntax(
                    location, "SHELL requires at least one argument, e.g. SHELL [\"/bin/bash\", \"-c\"]")
            }
            return .shell(words.map(\.text))
        case .notStrings(let p):
            throw DockerfileError.syntax(
                loc(p), "when using JSON array syntax, arrays must be comprised of strings only")
        case .invalid:
            throw DockerfileError.syntax(
                args.isEmpty ? location : loc(args.start),
                "SHELL requires the arguments to be in JSON form, e.g. SHELL [\"/bin/bash\", \"-c\"]")
        }
    }

    /// VOLUME /path ... or a JSON array
    private func volumeInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        let name = input.keyword.rawValue
        _ = try flags(raw, for: keyword, allowed: [:])
        let words = try listArguments(args, keyword: name)
        guard !words.isEmpty else {
            throw DockerfileError.syntax(location, "VOLUME requires at least one argument: VOLUME /data")
        }
        for w in words {
            if w.text.trimmingCharacters(in: .whitespaces).isEmpty {
                throw DockerfileError.syntax(w.location, "VOLUME specified can not be an empty string")
            }
            try expander.check(w)
        }
        return .volume(words)
    }

    /// COPY and ADD: flags, sources and destination, heredoc sources
    private func copyInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let location = input.location
        let raw = input.flags
        let args = input.args
        let heredocs = input.heredocs
        let name = input.keyword.rawValue
        let isCopy = keyword == .copy
        var allowed: [String: FlagKind] = [
            "chown": .string, "chmod": .string, "link": .bool, "exclude": .list, "parents": .bool,
        ]
        if isCopy {
            allowed["from"] = .string
        } else {
            allowed["checksum"] = .string
            allowed["unpack"] = .bool
            allowed["keep-git-dir"] = .bool
        }
        let f = try flags(raw, for: keyword, allowed: allowed)
        var isJSON = false
        var words: [Word]
        var reader = JSONArrayReader(args, file: file)
        switch reader.read() {
        case .strings(let w): words = w; isJSON = true
        case .notStrings(let p):
            throw DockerfileError.syntax(
                loc(p), "when using JSON array syntax, arrays must be comprised of strings only")
        case .invalid(_, let unterminated):
            if unterminated { throw unterminatedJSON(args, keyword: name) }
            words = args.whitespaceFields().map { $0.word(file: file) }
        }
        guard words.count >= 2 else {
            let count = words.isEmpty ? "none was" : "only one was"
            throw DockerfileError.syntax(
                location,
                "\(name) requires at least two arguments (sources and a destination), but \(count) provided: \(name) SRC... DEST"
            )
        }
        for w in words { try expander.check(w) }
        let from = f.strings["from"]?.valueWord
        let chown = f.strings["chown"]?.valueWord
        let chmod = f.strings["chmod"]?.valueWord
        for w in [from, chown, chmod].compactMap({ $0 }) { try expander.check(w) }
        if let chmod, !chmod.text.contains("$") { try Self.checkChmod(chmod) }
        let checksum = f.strings["checksum"]?.valueWord
        if let checksum {
            try expander.check(checksum)
            if !checksum.text.contains("$") { try CopySources.checkChecksum(checksum) }
        }
        var copy = CopyInstruction(
            sources: Array(words.dropLast()), destination: words.last!, from: from,
            chown: chown, chmod: chmod, link: f.bools["link"] ?? false, isJSONForm: isJSON)
        copy.checksum = checksum
        copy.parents = f.bools["parents"] ?? false
        copy.unpack = f.bools["unpack"]
        copy.keepGitDirectory = f.bools["keep-git-dir"] ?? false
        copy.excludes = (f.lists["exclude"] ?? []).map(\.valueWord)
        for w in copy.excludes { try expander.check(w) }
        if !isJSON { try splitHeredocSources(&copy, heredocs: heredocs, keyword: name) }
        return isCopy ? .copy(copy) : .add(copy)
    }

    /// RUN [--mount=...] [--network=...] command
    private func runInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let raw = input.flags
        let args = input.args
        let heredocs = input.heredocs
        let name = input.keyword.rawValue
        let f = try flags(raw, for: keyword, allowed: ["mount": .list, "network": .string, "security": .string])
        try input.requireArgs("RUN command text, or RUN [\"executable\", \"arg\"]")
        let command = try self.command(args, keyword: name)
        var run = RunInstruction(command: command)
        if case .shell = command { run.heredocs = heredocs }
        for flag in f.lists["mount"] ?? [] {
            try expander.check(flag.valueWord)
            run.mounts.append(try RunMount.parse(flag.valueWord, expand: nil))
        }
        if let network = f.strings["network"] {
            guard let mode = RunNetwork(rawValue: network.value?.lowercased() ?? "") else {
                throw DockerfileError.syntax(
                    network.location, "unsupported --network=\(network.value ?? ""): use default, none or host")
            }
            run.network = mode
        }
        if let security = f.strings["security"] {
            guard let mode = RunSecurity(rawValue: security.value?.lowercased() ?? "") else {
                throw DockerfileError.syntax(
                    security.location, "unsupported --security=\(security.value ?? ""): use sandbox or insecure")
            }
            run.security = mode
        }
        return .run(run)
    }

    /// ONBUILD INSTRUCTION: a trigger, checked here and run by builds that start FROM the image
    private func onbuildInstruction(_ input: InstructionInput) throws -> Instruction {
        let keyword = input.keyword
        let raw = input.flags
        let args = input.args
        _ = try flags(raw, for: keyword, allowed: [:])
        try input.requireArgs("ONBUILD INSTRUCTION ARGUMENTS")
        let inner = try instruction(args, endLine: 0)
        let innerKeyword = inner.instruction.keyword
        switch innerKeyword {
        case .onbuild:
            throw DockerfileError.syntax(inner.location, "chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
        case .from, .maintainer:
            throw DockerfileError.syntax(
                inner.location, "\(innerKeyword.rawValue) isn't allowed as an ONBUILD trigger")
        default:
            return .onbuild(OnBuildTrigger(text: args.string, keyword: innerKeyword))
        }
    }

    static func isValidStageName(_ name: String) -> Bool {
        guard let first = name.first, first.isASCII, first.isLowercase else { return false }
        return name.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }
    }

    static func checkChmod(_ word: Word) throws {
        guard !word.text.isEmpty, word.text.count <= 5, let mode = UInt32(word.text, radix: 8), mode <= 0o7777 else {
            throw DockerfileError.syntax(
                word.location, "invalid --chmod=\(word.text): use an octal mode such as 0755 or 644")
        }
    }

    func unterminatedJSON(_ args: Span, keyword: String) -> DockerfileError {
        .syntax(
            loc(args.start),
            "unterminated JSON array in \(keyword): close it with `]` (and every string with `\"`), or write the arguments without brackets"
        )
    }

    /// Exec form when the arguments are a JSON array of strings, otherwise shell form (BuildKit's `parseMaybeJSON`).
    func command(_ args: Span, keyword: String) throws -> Command {
        var reader = JSONArrayReader(args, file: file)
        switch reader.read() {
        case .strings(let words): return .exec(words.map(\.text))
        case .notStrings(let p):
            throw DockerfileError.syntax(
                loc(p), "when using JSON array syntax, arrays must be comprised of strings only")
        case .invalid(_, let unterminated):
            if unterminated { throw unterminatedJSON(args, keyword: keyword) }
            return .shell(args.string)
        }
    }

    func listArguments(_ args: Span, keyword: String) throws -> [Word] {
        var reader = JSONArrayReader(args, file: file)
        switch reader.read() {
        case .strings(let w): return w
        case .notStrings(let p):
            throw DockerfileError.syntax(
                loc(p), "when using JSON array syntax, arrays must be comprised of strings only")
        case .invalid(_, let unterminated):
            if unterminated { throw unterminatedJSON(args, keyword: keyword) }
            return args.whitespaceFields().map { $0.word(file: file) }
        }
    }

    /// Moves COPY/ADD sources that are heredoc markers into `heredocs`, in order (BuildKit pairs
    /// markers and bodies by position); a heredoc cannot be the destination.
    func splitHeredocSources(_ copy: inout CopyInstruction, heredocs: [Heredoc], keyword: String) throws {
        if Heredoc.marker(Array(copy.destination.text), escape: escape) != nil {
            throw DockerfileError.syntax(
                copy.destination.location,
                "\(keyword) cannot take a heredoc as its destination; write the destination path last, e.g. \(keyword) <<EOF /etc/app.conf"
            )
        }
        guard !heredocs.isEmpty else { return }
        var files: [Word] = []
        var remaining = heredocs[...]
        for source in copy.sources {
            if Heredoc.marker(Array(source.text), escape: escape) != nil, let doc = remaining.popFirst() {
                copy.heredocs.append(doc)
            } else {
                files.append(source)
            }
        }
        copy.sources = files
    }

    // MARK: HEALTHCHECK

    func healthcheck(_ raw: [RawFlag], location: SourceLocation, args: Span) throws -> HealthcheckInstruction {
        let f = try flags(
            raw, for: .healthcheck,
            allowed: [
                "interval": .string, "timeout": .string, "start-period": .string, "start-interval": .string,
                "retries": .string,
            ])
        guard !args.isEmpty else {
            throw DockerfileError.syntax(
                location, "HEALTHCHECK requires an argument: HEALTHCHECK [OPTIONS] CMD command, or HEALTHCHECK NONE")
        }
        let (typeSpan, rest) = args.splitFirstWhitespace()
        switch typeSpan.string.uppercased() {
        case "NONE":
            if let rest, !rest.isEmpty {
                throw DockerfileError.syntax(loc(rest.start), "HEALTHCHECK NONE takes no arguments")
            }
            if let first = f.used.first {
                throw DockerfileError.syntax(
                    first.location, "HEALTHCHECK NONE takes no options; remove --\(first.name)")
            }
            return .none
        case "CMD":
            guard let rest, !rest.isEmpty else {
                throw DockerfileError.syntax(loc(typeSpan.start), "missing command after HEALTHCHECK CMD")
            }
            var config = HealthcheckConfig(command: try command(rest, keyword: "HEALTHCHECK CMD"))
            func duration(_ name: String) throws -> Int64 {
                guard let flag = f.strings[name], let text = flag.value, !text.isEmpty else { return 0 }
                guard let nanos = GoDuration.parse(text) else {
                    throw DockerfileError.syntax(
                        flag.location,
                        "HEALTHCHECK --\(name)=\(text) is not a duration; write it like 30s, 1m30s or 500ms")
                }
                if nanos == 0 { return 0 }
                guard nanos >= 1_000_000 else {
                    throw DockerfileError.syntax(
                        flag.location, "HEALTHCHECK --\(name)=\(text) cannot be less than 1ms (use 0 for the default)")
                }
                return nanos
            }
            config.interval = try duration("interval")
            config.timeout = try duration("timeout")
            config.startPeriod = try duration("start-period")
            config.startInterval = try duration("start-interval")
            if let flag = f.strings["retries"], let text = flag.value, !text.isEmpty {
                guard let retries = Int(text) else {
                    throw DockerfileError.syntax(flag.location, "HEALTHCHECK --retries=\(text) is not a whole number")
                }
                guard retries >= 0 else {
                    throw DockerfileError.syntax(flag.location, "HEALTHCHECK --retries cannot be negative (\(retries))")
                }
                config.retries = retries
            }
            return .check(config)
        default:
            throw DockerfileError.syntax(
                loc(typeSpan.start),
                "unknown type \"\(typeSpan.string)\" in HEALTHCHECK: use HEALTHCHECK CMD command, or HEALTHCHECK NONE")
        }
    }
}
