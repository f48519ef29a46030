/// Path and name globs for allowlists: `*` matches within one path component, `**` across
/// components, `?` one character.
///
/// Why not one of Dockerfile's dialects: COPY's `GlobPattern` has no `**`, and .dockerignore's
/// patterns make `[`/`\` special and let `a/**/b` match `a/b`; either would change what a
/// policy allowlist (policies/README.md) allows. Policy does not depend on Dockerfile either.
enum Glob {
    static func matches(_ pattern: String, _ text: String, caseInsensitive: Bool = false) -> Bool {
        let p = Array(caseInsensitive ? pattern.uppercased() : pattern)
        let t = Array(caseInsensitive ? text.uppercased() : text)
        return match(p[...], t[...])
    }

    private static func match(_ p: ArraySlice<Character>, _ t: ArraySlice<Character>) -> Bool {
        guard let first = p.first else { return t.isEmpty }
        if first == "*" {
            let double = p.dropFirst().first == "*"
            let rest = double ? p.dropFirst(2) : p.dropFirst()
            var i = t.startIndex
            while true {
                if match(rest, t[i...]) { return true }
                if i == t.endIndex || (!double && t[i] == "/") { return false }
                i += 1
            }
        }
        guard let c = t.first, first == "?" ? c != "/" : first == c else { return false }
        return match(p.dropFirst(), t.dropFirst())
    }

    /// An allowlist entry allows the path itself and, for a directory entry, what lies below it.
    static func allows(_ list: [String], _ path: String) -> Bool {
        list.contains { entry in
            let trimmed = entry.count > 1 && entry.hasSuffix("/") ? String(entry.dropLast()) : entry
            return matches(trimmed, path)
                || path.hasPrefix(trimmed == "/" ? "/" : trimmed + "/") && !trimmed.contains("*")
        }
    }
}
