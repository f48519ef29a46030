import Foundation

@testable import Dockerfile

/// A JSON value compared structurally (object key order does not matter).
enum JSONValue: Equatable, Codable, CustomStringConvertible {
    case string(String), number(Double), bool(Bool), null
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    var description: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? String(data: encoder.encode(self), encoding: .utf8)) ?? "?"
    }

    static func decode(_ url: URL) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: url))
    }

    subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
}

/// Turns parsed (and resolved) instructions into the JSON the corpus expects.
enum CorpusEncoder {
    static func word(raw: Word, resolved: Word) -> JSONValue {
        raw.text == resolved.text
            ? .string(raw.text) : .object(["raw": .string(raw.text), "value": .string(resolved.text)])
    }

    static func words(raw: [Word], resolved: [Word]) -> JSONValue {
        .array(zip(raw, resolved).map { word(raw: $0, resolved: $1) })
    }

    static func command(_ c: Command, into o: inout [String: JSONValue]) {
        o["form"] = .string(c.form.rawValue)
        switch c {
        case .exec(let args): o["args"] = .array(args.map(JSONValue.string))
        case .shell(let text): o["text"] = .string(text)
        }
    }

    static func heredocs(_ docs: [Heredoc]) -> JSONValue {
        .array(
            docs.map { d in
                var o: [String: JSONValue] = [
                    "name": .string(d.name), "content": .string(d.content),
                    "at": .string("\(d.location.line):\(d.location.column)"),
                ]
                if !d.expand { o["expand"] = .bool(false) }
                if d.chomp { o["chomp"] = .bool(true) }
                if d.fileDescriptor != 0 { o["fd"] = .number(Double(d.fileDescriptor)) }
                return .object(o)
            })
    }

    static func encode(_ located: LocatedInstruction, resolved: Instruction) -> JSONValue {
        var o: [String: JSONValue] = [
            "at": .string("\(located.location.line):\(located.location.column)"),
            "op": .string(located.instruction.keyword.rawValue.lowercased()),
        ]
        switch (located.instruction, resolved) {
        case (.from(let f), .from(let r)):
            o["image"] = word(raw: f.image, resolved: r.image)
            if let n = f.stageName { o["name"] = .string(n) }
            if let p = f.platform, let rp = r.platform { o["platform"] = word(raw: p, resolved: rp) }
        case (.arg(let decls), .arg(let r)):
            o["args"] = .array(
                zip(decls, r).map { d, rd in
                    var a: [String: JSONValue] = ["name": .string(d.name)]
                    if let v = d.defaultValue, let rv = rd.defaultValue { a["default"] = word(raw: v, resolved: rv) }
                    return .object(a)
                })
        case (.env(let pairs), .env(let r)), (.label(let pairs), .label(let r)):
            o["pairs"] = .array(
                zip(pairs, r).map { p, rp in
                    .array([word(raw: p.key, resolved: rp.key), word(raw: p.value, resolved: rp.value)])
                })
        case (.workdir(let w), .workdir(let r)), (.user(let w), .user(let r)), (.stopSignal(let w), .stopSignal(let r)):
            o["value"] = word(raw: w, resolved: r)
        case (.expose(let w), .expose(let r)):
            o["ports"] = words(raw: w, resolved: r)
            o["keys"] = .array(r.flatMap { (try? ExposedPort.keys($0)) ?? [] }.map(JSONValue.string))
        case (.healthcheck(let h), _):
            switch h {
            case .none:
                o["none"] = .bool(true)
            case .check(let c):
                o["test"] = .array(c.test.map(JSONValue.string))
                for (k, v) in [
                    ("interval", c.interval), ("timeout", c.timeout), ("startPeriod", c.startPeriod),
                    ("startInterval", c.startInterval),
                ] where v != 0 {
                    o[k] = .number(Double(v))
                }
                if c.retries != 0 { o["retries"] = .number(Double(c.retries)) }
            }
        case (.cmd(let c), _), (.entrypoint(let c), _):
            command(c, into: &o)
        case (.shell(let args), _):
            o["args"] = .array(args.map(JSONValue.string))
        case (.volume(let w), .volume(let r)):
            o["paths"] = words(raw: w, resolved: r)
        case (.onbuild(let t), _):
            o["text"] = .string(t.text)
            o["trigger"] = .string(t.keyword.rawValue)
        case (.copy(let c), .copy(let r)), (.add(let c), .add(let r)):
            o["sources"] = words(raw: c.sources, resolved: r.sources)
            o["dest"] = word(raw: c.destination, resolved: r.destination)
            if let w = c.from, let rw = r.from { o["from"] = word(raw: w, resolved: rw) }
            if let w = c.chown, let rw = r.chown { o["chown"] = word(raw: w, resolved: rw) }
            if let w = c.chmod, let rw = r.chmod { o["chmod"] = word(raw: w, resolved: rw) }
            if c.link { o["link"] = .bool(true) }
            if c.isJSONForm { o["json"] = .bool(true) }
            if c.parents { o["parents"] = .bool(true) }
            if !c.excludes.isEmpty { o["exclude"] = words(raw: c.excludes, resolved: r.excludes) }
            if !r.heredocs.isEmpty {
                o["heredocs"] = heredocs(r.heredocs); o["endLine"] = .number(Double(located.endLine))
            }
        case (.run(_), .run(let r)):
            command(r.command, into: &o)
            if r.network != .default { o["network"] = .string(r.network.rawValue) }
            if !r.heredocs.isEmpty {
                o["heredocs"] = heredocs(r.heredocs); o["endLine"] = .number(Double(located.endLine))
            }
            if !r.mounts.isEmpty {
                o["mounts"] = .array(
                    r.mounts.map { m in
                        var j: [String: JSONValue] = ["type": .string(m.type.rawValue), "readOnly": .bool(m.readOnly)]
                        if let v = m.target { j["target"] = .string(v) }
                        if let v = m.from { j["from"] = .string(v) }
                        if let v = m.source { j["source"] = .string(v) }
                        if let v = m.id { j["id"] = .string(v) }
                        if let v = m.sharing { j["sharing"] = .string(v.rawValue) }
                        if let v = m.mode { j["mode"] = .string(String(v, radix: 8)) }
                        if let v = m.uid { j["uid"] = .number(Double(v)) }
                        if let v = m.gid { j["gid"] = .number(Double(v)) }
                        if m.required { j["required"] = .bool(true) }
                        if let v = m.size { j["size"] = .number(Double(v)) }
                        return .object(j)
                    })
            }
        case (.maintainer(let name), _):
            o["name"] = .string(name)
        default:
            o["mismatch"] = .string("resolved instruction has another kind")
        }
        return .object(o)
    }

    static func stage(_ s: Stage) -> JSONValue {
        var o: [String: JSONValue] = ["index": .number(Double(s.index))]
        if let n = s.name { o["name"] = .string(n) }
        switch s.base {
        case .scratch: o["base"] = .string("scratch")
        case .image(let i): o["base"] = .string("image " + i)
        case .stage(let i): o["base"] = .string("stage \(i)")
        }
        if let p = s.platform { o["platform"] = .string(p) }
        o["dependencies"] = .array(s.dependencies.map { .number(Double($0)) })
        o["instructions"] = .number(Double(s.instructions.count))
        return .object(o)
    }

    /// Parses, builds the stage graph and resolves every instruction the way the executor does
    /// (scopes start from an empty base environment).
    static func run(
        _ text: String, file: String, buildArgs: [String: String] = [:], target: String? = nil
    ) throws -> JSONValue {
        let parsed = try DockerfileParser(file: file).parse(text)
        let graph = try StageGraph(parsed, buildArgs: buildArgs)
        let needed = try graph.stages(neededFor: target)
        var instructions: [JSONValue] = []
        var globalScope = graph.scope()
        for located in parsed.instructions {
            guard case .arg = located.instruction else { break }
            instructions.append(encode(located, resolved: try globalScope.resolve(located)))
            try globalScope.apply(located)
        }
        for stage in graph.stages {
            var scope = graph.scope()
            instructions.append(encode(stage.from, resolved: try scope.resolve(stage.from)))
            for located in stage.instructions {
                let resolved = try scope.resolve(located)
                if case .copy(let c) = resolved, let from = c.from {
                    _ = try graph.reference(from.text, at: from.location, inStage: stage.index)
                }
                instructions.append(encode(located, resolved: resolved))
                try scope.apply(located)
            }
        }
        var o: [String: JSONValue] = [
            "instructions": .array(instructions),
            "stages": .array(graph.stages.map(stage)),
            "build": .array(needed.map { .number(Double($0.index)) }),
            "escape": .string(String(parsed.directives.escape)),
        ]
        if let s = parsed.directives.syntax { o["syntax"] = .string(s) }
        if !parsed.warnings.isEmpty { o["warnings"] = .number(Double(parsed.warnings.count)) }
        return .object(o)
    }
}
