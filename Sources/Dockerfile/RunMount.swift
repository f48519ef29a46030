import Foundation

/// One `RUN --mount=...` as BuildKit reads it: comma-separated `key=value` fields (CSV quoting),
/// each value expanded with the stage's variables.
public struct RunMount: Sendable, Equatable {
    public enum MountType: String, Sendable, CaseIterable { case bind, cache, tmpfs, secret, ssh }
    public enum Sharing: String, Sendable { case shared, `private`, locked }

    public var type: MountType = .bind
    public var target: String?
    /// `from=`: a stage name or index, or an image, to read `source` from (bind and cache).
    public var from: String?
    public var source: String?
    public var readOnly: Bool
    /// cache: the cache id (defaults to the target); secret/ssh: the id (secret defaults to the target's base name).
    public var id: String?
    public var sharing: Sharing?
    public var mode: UInt32?
    public var uid: Int?
    public var gid: Int?
    public var required: Bool = false
    /// tmpfs size in bytes.
    public var size: Int64?
    /// secret: expose the secret as this environment variable.
    public var env: String?
    /// The flag's value as written.
    public var spec: Word

    /// Where the mount appears: `target=`; for a secret `/run/secrets/<id>`, unless it is only
    /// an environment variable (`env=` without `target=`), as in BuildKit.
    public var effectiveTarget: String? {
        if let target { return target }
        if type == .secret, let id { return env == nil ? "/run/secrets/" + id : nil }
        if type == .ssh { return "/run/buildkit/ssh_agent.0" }
        return nil
    }

    /// The cache id BuildKit uses: `id=` or the target.
    public var effectiveCacheID: String? { id ?? target }

    /// Parses the flag value. With `expand == nil` (parse time) values holding `$` are kept as written
    /// and their checks wait for `VariableScope.resolve`, which parses again with expansion.
    static func parse(_ spec: Word, expand: ((String) throws -> String)?) throws -> RunMount {
        let location = spec.location
        func fail(_ message: String) -> DockerfileError {
            .syntax(location, "invalid --mount=\(spec.text): \(message)")
        }
        let fields = try csvFields(spec.text, fail: fail)
        var typeName = "bind"
        var pairs: [(key: String, value: String?, raw: String)] = []
        for field in fields {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = parts[0].lowercased().trimmingCharacters(in: .whitespaces)
            var value = parts.count > 1 ? String(parts[1]) : nil
            if let v = value, let expand { value = try expand(v) }
            if key == "type" {
                guard let v = value else { throw fail("`type` needs a value: bind, cache, tmpfs, secret or ssh") }
                typeName = v.lowercased()
                continue
            }
            pairs.append((key, value, field))
        }
        guard let type = MountType(rawValue: typeName) else {
            throw fail("unsupported mount type \"\(typeName)\"; use type=bind, cache, tmpfs, secret or ssh")
        }
        var mount = RunMount(type: type, readOnly: type == .bind, spec: spec)
        let deferred = expand == nil
        func hasVariable(_ v: String) -> Bool { deferred && v.contains("$") }
        func bool(_ key: String, _ value: String?) throws -> Bool {
            guard let value else { return true }
            switch value.lowercased() {
            case "true", "1": return true
            case "false", "0": return false
            default: throw fail("`\(key)=\(value)` must be true or false")
            }
        }
        func allowed(_ key: String, _ types: Set<MountType>) throws {
            guard types.contains(type) else {
                let names = types.map(\.rawValue).sorted().joined(separator: ", ")
                throw fail("`\(key)` does not apply to type=\(type.rawValue) (only to \(names))")
            }
        }
        for (key, value, raw) in pairs {
            switch key {
            case "target", "dst", "destination":
                guard let value, !value.isEmpty else { throw fail("`\(key)` needs a path") }
                mount.target = value
            case "source", "src":
                guard let value else { throw fail("`\(key)` needs a path") }
                // A bind source is read inside the context or the `from` stage; `..` cannot leave it.
                if type == .bind || type == .cache, !hasVariable(value),
                    PathClean.clean(String(value.drop(while: { $0 == "/" }))).hasPrefix("..")
                {
                    throw fail("`\(key)=\(value)` leaves the build context (or the `from` stage); bind a path below it")
                }
                mount.source = value
            case "from":
                try allowed(key, [.bind, .cache])
                guard let value, !value.isEmpty else { throw fail("`from` needs a stage name or image") }
                mount.from = value
            case "readonly", "ro":
                mount.readOnly = try bool(key, value)
            case "readwrite", "rw":
                mount.readOnly = !(try bool(key, value))
            case "id":
                try allowed(key, [.cache, .secret, .ssh])
                guard let value, !value.isEmpty else { throw fail("`id` needs a value") }
                mount.id = value
            case "sharing":
                try allowed(key, [.cache])
                guard let value else { throw fail("`sharing` needs shared, private or locked") }
                if hasVariable(value) { break }
                guard let sharing = Sharing(rawValue: value.lowercased()) else {
                    throw fail("unknown sharing \"\(value)\"; use shared, private or locked")
                }
                mount.sharing = sharing
            case "mode":
                try allowed(key, [.cache, .secret, .ssh])
                guard let value else { throw fail("`mode` needs an octal mode such as 0755") }
                if hasVariable(value) { break }
                guard let mode = UInt32(value, radix: 8), mode <= 0o7777 else {
                    throw fail("`mode=\(value)` is not an octal file mode; write it like 0755")
                }
                mount.mode = mode
            case "uid", "gid":
                try allowed(key, [.cache, .secret, .ssh])
                guard let value else { throw fail("`\(key)` needs a number") }
                if hasVariable(value) { break }
                guard let number = Int(value), number >= 0 else {
                    throw fail("`\(key)=\(value)` must be a non-negative number")
                }
                if key == "uid" { mount.uid = number } else { mount.gid = number }
            case "required":
                try allowed(key, [.secret, .ssh])
                mount.required = try bool(key, value)
            case "size":
                try allowed(key, [.tmpfs])
                guard let value else { throw fail("`size` needs a number of bytes") }
                if hasVariable(value) { break }
                guard let size = parseSize(value) else {
                    throw fail("`size=\(value)` is not a size such as 64m or 1048576")
                }
                mount.size = size
            case "env":
                try allowed(key, [.secret])
                guard let value, !value.isEmpty else { throw fail("`env` needs a variable name") }
                mount.env = value
            default:
                throw fail("unexpected key '\(key)' in '\(raw)'")
            }
        }
        switch type {
        case .bind, .cache, .tmpfs:
            if mount.target == nil {
                throw fail("type=\(type.rawValue) needs target=PATH, the directory where it is mounted")
            }
        case .secret:
            // BuildKit: the id defaults to the target's base name, else to the variable's name.
            if mount.id == nil, let target = mount.target {
                mount.id = target.split(separator: "/").last.map(String.init)
            }
            if mount.id == nil { mount.id = mount.env }
            if mount.id == nil && mount.env == nil {
                throw fail("type=secret needs id=ID (the id given to the build's --secret) or target=PATH")
            }
        case .ssh:
            if mount.id == nil { mount.id = "default" }
        }
        if type == .secret || type == .ssh { mount.readOnly = true }
        return mount
    }

    private static func parseSize(_ text: String) -> Int64? {
        let lower = text.lowercased()
        let units: [(String, Int64)] = [
            ("kb", 1024), ("mb", 1 << 20), ("gb", 1 << 30), ("k", 1024), ("m", 1 << 20), ("g", 1 << 30), ("b", 1),
        ]
        for (suffix, factor) in units where lower.hasSuffix(suffix) {
            return Int64(lower.dropLast(suffix.count)).map { $0 * factor }
        }
        return Int64(lower)
    }

    /// One CSV record (Go's encoding/csv with default settings).
    private static func csvFields(_ text: String, fail: (String) -> DockerfileError) throws -> [String] {
        var fields: [String] = []
        var current = ""
        var chars = Array(text)[...]
        var atFieldStart = true
        while let c = chars.first {
            chars = chars.dropFirst()
            if atFieldStart && c == "\"" {
                atFieldStart = false
                var closed = false
                while let q = chars.first {
                    chars = chars.dropFirst()
                    if q == "\"" {
                        if chars.first == "\"" { current.append("\""); chars = chars.dropFirst(); continue }
                        closed = true
                        break
                    }
                    current.append(q)
                }
                if !closed { throw fail("unterminated quote") }
                if let n = chars.first, n != "," { throw fail("extraneous character after a quoted field") }
                continue
            }
            atFieldStart = false
            if c == "," {
                fields.append(current)
                current = ""
                atFieldStart = true
                continue
            }
            current.append(c)
        }
        fields.append(current)
        return fields.filter { !$0.isEmpty }
    }
}
