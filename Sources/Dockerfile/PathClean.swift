/// Go's `path.Clean` for `/`-separated paths: drops `.`, resolves `..`, removes repeated and trailing `/`.
public enum PathClean {
    public static func clean(_ path: String) -> String {
        if path.isEmpty { return "." }
        let rooted = path.hasPrefix("/")
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                if let last = parts.last, last != ".." {
                    parts.removeLast()
                } else if !rooted {
                    parts.append(part)
                }
                continue
            }
            parts.append(part)
        }
        let joined = parts.joined(separator: "/")
        if rooted { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }

    /// A path inside a build context: cleaned as if rooted, so `..` cannot leave it; no leading `/`.
    public static func contextRelative(_ path: String) -> String {
        let cleaned = clean("/" + path)
        return cleaned == "/" ? "." : String(cleaned.dropFirst())
    }
}
