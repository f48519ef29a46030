import OCI

/// What a stage starts from.
public enum StageBase: Sendable, Equatable {
    /// `FROM scratch`: an empty filesystem.
    case scratch
    /// An image reference, after expansion (e.g. `python:3.12-slim`).
    case image(String)
    /// An earlier stage, by index.
    case stage(Int)
}

/// What `COPY --from=` or `RUN --mount=from=` names.
public enum StageReference: Sendable, Equatable {
    case stage(Int)
    case image(String)
}

/// One build stage: the FROM line and the instructions up to the next FROM.
public struct Stage: Sendable, Equatable {
    public var index: Int
    /// Lower-cased `AS` name.
    public var name: String?
    public var base: StageBase
    /// `--platform` after expansion.
    public var platform: String?
    public var from: LocatedInstruction
    public var instructions: [LocatedInstruction]
    /// Stages this one reads from (its base and COPY --from / RUN --mount from=), ascending.
    public var dependencies: [Int]

    /// The name, or the index when the stage has none (as `--from=` accepts it).
    public var displayName: String { name ?? String(index) }
    public var location: SourceLocation { from.location }
}

/// The stages of a Dockerfile and how they depend on each other.
public struct StageGraph: Sendable {
    public let dockerfile: ParsedDockerfile
    public let globals: GlobalArguments
    public private(set) var stages: [Stage]

    public init(
        _ dockerfile: ParsedDockerfile, buildArgs: [String: String] = [:],
        target: Platform = .linuxAMD64, build: Platform = .linuxAMD64
    ) throws {
        self.dockerfile = dockerfile
        let globals = try GlobalArguments(dockerfile, buildArgs: buildArgs, target: target, build: build)
        self.globals = globals
        var stages: [Stage] = []
        var names: [String: Int] = [:]
        for located in dockerfile.instructions {
            if case .from(let from) = located.instruction {
                let index = stages.count
                let imageText = try globals.expand(from.image)
                if imageText.isEmpty {
                    throw DockerfileError.stage(
                        from.image.location,
                        "base name (\(from.image.text)) should not be blank: declare `ARG NAME=default` before the first FROM or pass --build-arg"
                    )
                }
                if imageText.contains(where: \.isWhitespace) {
                    throw DockerfileError.stage(
                        from.image.location,
                        "base image \"\(imageText)\" contains whitespace; check the ARG values used in this FROM line")
                }
                let base: StageBase
                if imageText.lowercased() == "scratch" {
                    base = .scratch
                } else if let earlier = names[imageText.lowercased()] {
                    base = .stage(earlier)
                } else {
                    base = .image(imageText)
                }
                let platform = try from.platform.map { try globals.expand($0) }
                if let name = from.stageName {
                    if let previous = names[name] {
                        throw DockerfileError.stage(
                            located.location,
                            "duplicate stage name \"\(name)\" (first used by the FROM at line \(stages[previous].location.line)); give each stage its own name"
                        )
                    }
                    names[name] = index
                }
                stages.append(
                    Stage(
                        index: index, name: from.stageName, base: base, platform: platform, from: located,
                        instructions: [], dependencies: []))
            } else if stages.isEmpty {
                if case .arg = located.instruction { continue }
                throw DockerfileError.stage(
                    located.location,
                    "\(located.instruction.keyword.rawValue) cannot come before the first FROM: only ARG may; add a FROM line above it"
                )
            } else {
                stages[stages.count - 1].instructions.append(located)
            }
        }
        guard !stages.isEmpty else {
            throw DockerfileError.stage(
                SourceLocation(file: dockerfile.file, line: 1, column: 1),
                "no FROM instruction: a Dockerfile needs at least one FROM line, e.g. FROM debian:12")
        }
        self.stages = stages
        try linkStages()
    }

    // MARK: references

    private struct Edge {
        var from: Int
        var to: Int
        var location: SourceLocation
    }

    /// Resolves a `--from=` / `from=` value. Stage names and indexes must be earlier stages;
    /// anything else is an image, unless it looks like a misspelt stage name.
    public func reference(_ text: String, at location: SourceLocation, inStage index: Int) throws -> StageReference {
        switch try lookupReference(text, at: location, inStage: index) {
        case .stage(let target):
            if target == index {
                throw DockerfileError.stage(
                    location,
                    "circular dependency: stage \(stages[index].displayName) refers to itself; copy from an earlier stage"
                )
            }
            if target > index {
                throw DockerfileError.stage(location, laterMessage(index, target))
            }
            return .stage(target)
        case .image(let image):
            return .image(image)
        }
    }

    private func laterMessage(_ index: Int, _ target: Int) -> String {
        "stage \(stages[index].displayName) refers to stage \(stages[target].displayName), which is defined later (line \(stages[target].location.line)); a stage can only use earlier stages: move stage \(stages[target].displayName) above this one"
    }

    private func lookupReference(
        _ text: String, at location: SourceLocation, inStage index: Int
    ) throws -> StageReference {
        if !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
            guard let n = Int(text), n < stages.count else {
                throw DockerfileError.stage(
                    location, "no stage with index \(text): stages are numbered 0 to \(stages.count - 1)")
            }
            return .stage(n)
        }
        let lower = text.lowercased()
        if let stage = stages.first(where: { $0.name == lower }) { return .stage(stage.index) }
        let looksLikeImage = text.contains("/") || text.contains(":") || text.contains("@")
        if !looksLikeImage {
            let close = stages.compactMap(\.name).filter { Self.distance($0, lower) <= 2 }
            if let guess = close.first {
                throw DockerfileError.stage(
                    location,
                    "unknown stage \"\(text)\" (did you mean stage \"\(guess)\"?); stages are \(stageList); to copy from an image instead, write its full reference, e.g. docker.io/library/\(text):latest"
                )
            }
        }
        return .image(text)
    }

    var stageList: String {
        stages.map { s in
            s.name.map { "\($0) (\(s.index), line \(s.location.line))" } ?? "\(s.index) (line \(s.location.line))"
        }
        .joined(separator: ", ")
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var row = Array(0...b.count)
        for i in 1...a.count {
            var prev = row[0]
            row[0] = i
            for j in 1...b.count {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1))
                prev = old
            }
        }
        return row[b.count]
    }

    /// Walks every stage with a scope to expand `--from` values, records dependencies, and rejects
    /// cycles and references to later stages.
    private mutating func linkStages() throws {
        var edges: [Edge] = []
        var laterFromLines: [Edge] = []
        for stage in stages {
            if case .stage(let base) = stage.base {
                edges.append(Edge(from: stage.index, to: base, location: stage.location))
            } else if case .image(let image) = stage.base,
                let later = stages.first(where: { $0.name == image.lowercased() }), later.index > stage.index
            {
                laterFromLines.append(Edge(from: stage.index, to: later.index, location: stage.from.location))
            }
            var scope = VariableScope(globals: globals)
            for located in stage.instructions {
                switch located.instruction {
                case .arg, .env:
                    try scope.apply(located)
                case .copy(let c):
                    if let from = c.from {
                        let text = try scope.expand(from)
                        if case .stage(let target) = try lookupReference(text, at: from.location, inStage: stage.index)
                        {
                            edges.append(Edge(from: stage.index, to: target, location: from.location))
                        }
                    }
                case .run:
                    guard case .run(let run) = try scope.resolve(located) else { break }
                    for mount in run.mounts {
                        if let from = mount.from,
                            case .stage(let target) = try lookupReference(
                                from, at: mount.spec.location, inStage: stage.index)
                        {
                            edges.append(Edge(from: stage.index, to: target, location: mount.spec.location))
                        }
                    }
                default:
                    break
                }
            }
        }
        try Self.rejectCycles(edges, stages: stages)
        for edge in edges where edge.to >= edge.from {
            throw DockerfileError.stage(edge.location, laterMessage(edge.from, edge.to))
        }
        if let edge = laterFromLines.first {
            throw DockerfileError.stage(
                edge.location,
                laterMessage(edge.from, edge.to)
                    + "; if you meant the image \"\(stages[edge.to].name ?? "")\", write its full reference, e.g. docker.io/library/\(stages[edge.to].name ?? "")"
            )
        }
        var linked = stages
        for edge in edges where !linked[edge.from].dependencies.contains(edge.to) {
            linked[edge.from].dependencies.append(edge.to)
        }
        for i in linked.indices { linked[i].dependencies.sort() }
        stages = linked
    }

    private static func rejectCycles(_ edges: [Edge], stages: [Stage]) throws {
        var adjacency: [Int: [Edge]] = [:]
        for e in edges { adjacency[e.from, default: []].append(e) }
        var state = Array(repeating: 0, count: stages.count)  // 0 new, 1 on path, 2 done
        var path: [Int] = []
        func visit(_ n: Int) throws {
            state[n] = 1
            path.append(n)
            for e in adjacency[n] ?? [] {
                if e.to == n {
                    throw DockerfileError.stage(
                        e.location,
                        "circular dependency: stage \(stages[n].displayName) refers to itself; copy from an earlier stage"
                    )
                }
                if state[e.to] == 1 {
                    let cycle = path[path.firstIndex(of: e.to)!...] + [e.to]
                    let names = cycle.map { stages[$0].displayName }.joined(separator: " -> ")
                    throw DockerfileError.stage(
                        e.location,
                        "circular dependency between stages: \(names); break the cycle so that each stage only uses earlier ones"
                    )
                }
                if state[e.to] == 0 { try visit(e.to) }
            }
            path.removeLast()
            state[n] = 2
        }
        for s in stages.indices where state[s] == 0 { try visit(s) }
    }

    // MARK: queries

    /// The stages to build for `target` (a stage name; nil means the last stage), in build order.
    public func stages(neededFor target: String?) throws -> [Stage] {
        let targetIndex = try index(ofTarget: target)
        var needed = Set<Int>()
        var stack = [targetIndex]
        while let n = stack.popLast() {
            guard needed.insert(n).inserted else { continue }
            stack += stages[n].dependencies
        }
        return stages.filter { needed.contains($0.index) }
    }

    public func index(ofTarget target: String?) throws -> Int {
        guard let target else { return stages.count - 1 }
        if let s = stages.first(where: { $0.name == target.lowercased() }) { return s.index }
        let named = stages.compactMap(\.name)
        let hint =
            named.isEmpty
            ? "this Dockerfile has no named stages (name one with FROM IMAGE AS NAME)"
            : "pass one of: \(named.joined(separator: ", "))"
        throw DockerfileError.stage(stages.last!.location, "target stage \"\(target)\" could not be found; \(hint)")
    }

    /// A fresh scope for running a stage's instructions.
    public func scope(baseEnvironment: [String] = []) -> VariableScope {
        VariableScope(globals: globals, baseEnvironment: baseEnvironment)
    }

    /// Build args no ARG consumes (globally or in the stages built for `target`); Docker warns
    /// about them. Proxy and platform args never count.
    public func unconsumedBuildArgs(neededFor target: String?) throws -> [String] {
        var declared = Set(globals.declared)
        for stage in try stages(neededFor: target) {
            for located in stage.instructions {
                if case .arg(let decls) = located.instruction { declared.formUnion(decls.map(\.name)) }
            }
        }
        return globals.buildArgs.keys.filter {
            !declared.contains($0) && !PredefinedArgs.proxies.contains($0) && !PredefinedArgs.platformNames.contains($0)
        }.sorted()
    }
}
