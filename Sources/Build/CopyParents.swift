import Dockerfile

/// `COPY --parents` as BuildKit does it: a matched source keeps its path under the destination
/// (`COPY --parents a/b/c.txt /d/` makes /d/a/b/c.txt); a `/./` in the source is the pivot, only
/// the part after it is kept (`COPY --parents ./src/./pkg /d/` makes /d/pkg).
enum CopyParents {
    /// The path kept under the destination for `matched` (relative to the context or stage root).
    static func keptPath(_ source: String, matched: String) -> String {
        let path = matched == "." ? "" : matched
        guard let pivot = source.range(of: "/./") else { return path }
        let prefix = PathClean.contextRelative(String(source[..<pivot.lowerBound]))
        if prefix == "." { return path }
        if path == prefix { return "" }
        return path.hasPrefix(prefix + "/") ? String(path.dropFirst(prefix.count + 1)) : path
    }
}
