import OCI

/// Names Docker treats specially among build args.
public enum PredefinedArgs {
    /// Proxy args: passed to RUN without an ARG line, never written to the image or its history.
    public static let proxies: Set<String> = [
        "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy",
    ]

    /// Automatic platform args: usable in FROM lines, and in a stage after `ARG NAME`.
    public static func platform(target: Platform, build: Platform) -> [(String, String)] {
        [
            ("TARGETPLATFORM", target.description), ("TARGETOS", target.os),
            ("TARGETARCH", target.architecture), ("TARGETVARIANT", target.variant ?? ""),
            ("BUILDPLATFORM", build.description), ("BUILDOS", build.os),
            ("BUILDARCH", build.architecture), ("BUILDVARIANT", build.variant ?? ""),
        ]
    }

    public static let platformNames: Set<String> = Set(platform(target: .linuxAMD64, build: .linuxAMD64).map(\.0))
}

/// The global scope: ARGs declared before the first FROM (with build-arg overrides) plus the
/// automatic platform args. Only FROM lines see it directly; a stage sees a global ARG after
/// re-declaring it with `ARG NAME`.
public struct GlobalArguments: Sendable, Equatable {
    /// Name -> value (nil: declared without a value and not passed as a build arg).
    public private(set) var values: [String: String?] = [:]
    /// Names declared by ARG before the first FROM, in order.
    public private(set) var declared: [String] = []
    public let buildArgs: [String: String]
    public let escape: Character

    public init(
        _ dockerfile: ParsedDockerfile, buildArgs: [String: String] = [:],
        target: Platform = .linuxAMD64, build: Platform = .linuxAMD64
    ) throws {
        self.buildArgs = buildArgs
        self.escape = dockerfile.directives.escape
        for (name, value) in PredefinedArgs.platform(target: target, build: build) { values[name] = value }
        let expander = VariableExpander(escape: escape)
        for located in dockerfile.instructions {
            guard case .arg(let decls) = located.instruction else { break }
            for decl in decls {
                var value: String? = nil
                if let given = buildArgs[decl.name] {
                    value = given
                } else if let def = decl.defaultValue {
                    let current = values
                    value = try expander.expand(def) { current[$0] ?? nil }
                }
                values[decl.name] = .some(value)
                if !declared.contains(decl.name) { declared.append(decl.name) }
            }
        }
    }

    public func value(_ name: String) -> String? { values[name] ?? nil }

    /// Expands a word of a FROM line.
    public func expand(_ word: Word) throws -> String {
        try VariableExpander(escape: escape).expand(word) { value($0) }
    }
}

/// One stage's variables while its instructions are executed in order: the executor applies each
/// ARG and ENV with `apply`, expands words with `resolve`/`expand`, and asks which args a RUN sees.
public struct VariableScope: Sendable {
    public let globals: GlobalArguments
    public let expander: VariableExpander
    /// The environment as the image config records it (`KEY=VALUE`, base image first, ENV applied in order).
    public private(set) var environment: [String] = []
    /// ARGs declared in this stage, in declaration order, with their effective values.
    public private(set) var args: [(name: String, value: String?)] = []

    /// `baseEnvironment` is the base image's config `Env` (or the parent stage's final environment).
    public init(globals: GlobalArguments, baseEnvironment: [String] = []) {
        self.globals = globals
        self.expander = VariableExpander(escape: globals.escape)
        for entry in baseEnvironment {
            let (k, v) = Self.split(entry)
            setEnvironment(k, v)
        }
    }

    static func split(_ entry: String) -> (String, String) {
        guard let eq = entry.firstIndex(of: "=") else { return (entry, "") }
        return (String(entry[..<eq]), String(entry[entry.index(after: eq)...]))
    }

    public func environmentValue(_ name: String) -> String? {
        for entry in environment.reversed() {
            let (k, v) = Self.split(entry)
            if k == name { return v }
        }
        return nil
    }

    private mutating func setEnvironment(_ key: String, _ value: String) {
        if let i = environment.firstIndex(where: { Self.split($0).0 == key }) {
            environment[i] = key + "=" + value
        } else {
            environment.append(key + "=" + value)
        }
    }

    /// ENV wins over an ARG of the same name; an ARG counts only once declared in this stage.
    public func lookup(_ name: String) -> String? {
        if let v = environmentValue(name) { return v }
        return args.last(where: { $0.name == name })?.value
    }

    public func expand(_ word: Word) throws -> String {
        try expander.expand(word) { lookup($0) }
    }

    func expandWord(_ word: Word) throws -> Word {
        word.replacingText(try expand(word))
    }

    /// Applies ARG and ENV; other instructions leave the scope unchanged.
    public mutating func apply(_ located: LocatedInstruction) throws {
        switch located.instruction {
        case .arg(let decls):
            for decl in decls {
                var value: String?
                if let given = globals.buildArgs[decl.name] {
                    value = given
                } else if let def = decl.defaultValue {
                    value = try expand(def)
                } else if globals.values[decl.name] != nil {
                    // Re-declaring a global ARG (or an automatic platform arg) brings its value into the stage.
                    value = globals.value(decl.name)
                } else {
                    value = nil
                }
                args.removeAll { $0.name == decl.name }
                args.append((decl.name, value))
            }
        case .env:
            // All words are expanded before any is set: `ENV a=1 b=$a` sees the previous `a`.
            guard case .env(let pairs) = try resolve(located) else { return }
            for pair in pairs { setEnvironment(pair.key.text, pair.value.text) }
        default:
            return
        }
    }

    /// Build args this RUN sees, in declaration order: stage ARGs with a value that ENV does not
    /// override, then proxy build args given but not declared. They enter the RUN's environment and cache key.
    public var runArgs: [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        for (name, value) in args {
            guard let value, environmentValue(name) == nil else { continue }
            result.append((name, value))
        }
        for name in globals.buildArgs.keys.sorted() where PredefinedArgs.proxies.contains(name) {
            if !result.contains(where: { $0.name == name }) && environmentValue(name) == nil {
                result.append((name, globals.buildArgs[name]!))
            }
        }
        return result
    }

    /// The process environment for a RUN: the image environment plus `runArgs`.
    public var runEnvironment: [String] {
        environment + runArgs.map { $0.name + "=" + $0.value }
    }

    /// The instruction with every word Docker expands replaced by its expansion (ADD, COPY, ENV,
    /// EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, ARG defaults, COPY/ADD flags and
    /// RUN --mount values). RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD stay as written.
    public func resolve(_ located: LocatedInstruction) throws -> Instruction {
        switch located.instruction {
        case .from(var from):
            from.image = from.image.replacingText(try globals.expand(from.image))
            if let p = from.platform { from.platform = p.replacingText(try globals.expand(p)) }
            return .from(from)
        case .arg(let decls):
            return .arg(
                try decls.map { d in
                    var d = d
                    if let v = d.defaultValue { d.defaultValue = try expandWord(v) }
                    return d
                })
        case .env(let pairs):
            return .env(try pairs.map { KeyValue(key: try expandWord($0.key), value: try expandWord($0.value)) })
        case .label(let pairs):
            return .label(try pairs.map { KeyValue(key: try expandWord($0.key), value: try expandWord($0.value)) })
        case .workdir(let w):
            return .workdir(try expandWord(w))
        case .user(let w):
            return .user(try expandWord(w))
        case .stopSignal(let w):
            let expanded = try expandWord(w)
            try StopSignal.validate(expanded)
            return .stopSignal(expanded)
        case .volume(let words):
            return .volume(try words.map { try expandWord($0) })
        case .expose(let words):
            let expanded = try words.map { try expandWord($0) }
            for w in expanded { _ = try ExposedPort.keys(w) }
            return .expose(expanded)
        case .copy(let c):
            return .copy(try resolveCopy(c))
        case .add(let c):
            return .add(try resolveCopy(c))
        case .run(var run):
            run.mounts = try run.mounts.map { mount in
                try RunMount.parse(mount.spec, expand: { text in try self.expand(mount.spec.replacingText(text)) })
            }
            return .run(run)
        case .healthcheck, .cmd, .entrypoint, .shell, .onbuild, .maintainer:
            return located.instruction
        }
    }

    private func resolveCopy(_ c: CopyInstruction) throws -> CopyInstruction {
        var c = c
        c.sources = try c.sources.map { try expandWord($0) }
        c.destination = try expandWord(c.destination)
        if let w = c.from { c.from = try expandWord(w) }
        if let w = c.chown { c.chown = try expandWord(w) }
        c.excludes = try c.excludes.map { try expandWord($0) }
        if let w = c.checksum {
            c.checksum = try expandWord(w)
            try CopySources.checkChecksum(c.checksum!)
        }
        c.heredocs = try c.heredocs.map { doc in
            var doc = doc
            doc.content = doc.chompedContent
            doc.chomp = false
            if doc.expand { doc.content = try expander.expandRaw(doc.content, at: doc.location) { lookup($0) } }
            return doc
        }
        if let w = c.chmod {
            let e = try expandWord(w)
            guard let mode = UInt32(e.text, radix: 8), mode <= 0o7777 else {
                throw DockerfileError.syntax(
                    w.location, "invalid --chmod=\(e.text): use an octal mode such as 0755 or 644")
            }
            c.chmod = e
        }
        return c
    }
}
