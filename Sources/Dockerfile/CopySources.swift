import Foundation

/// How source patterns look at a tree of files. The executor passes one that resolves every name
/// inside its root (never through a symlink out of it) and may throw when a name leads out.
public struct SourceLookup {
    /// nil when the relative path does not exist; else whether it is a directory.
    public var isDirectory: (String) throws -> Bool?
    /// The names in a relative directory; empty when it cannot be listed.
    public var names: (String) throws -> [String]

    public init(isDirectory: @escaping (String) throws -> Bool?, names: @escaping (String) throws -> [String]) {
        self.isDirectory = isDirectory
        self.names = names
    }

    /// Plain file-system calls below `root` (symlinks followed as the kernel follows them).
    public static func fileSystem(_ root: URL) -> SourceLookup {
        SourceLookup(
            isDirectory: { path in
                var isDir: ObjCBool = false
                let url = path.isEmpty ? root : root.appendingPathComponent(path)
                return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) ? isDir.boolValue : nil
            },
            names: { path in
                (try? FileManager.default.contentsOfDirectory(
                    atPath: (path.isEmpty ? root : root.appendingPathComponent(path)).path)) ?? []
            })
    }
}

/// COPY/ADD source and destination rules, for the executor that copies from a context or a stage.
public enum CopySources {
    /// Whether the destination names a directory: it ends with `/` (or is `.`/ends with `/.`).
    public static func destinationIsDirectory(_ destination: String) -> Bool {
        destination.hasSuffix("/") || destination == "." || destination.hasSuffix("/.")
    }

    /// An absolute destination path: relative ones are under WORKDIR; a trailing `/` is kept.
    public static func resolveDestination(_ destination: String, workdir: String) -> String {
        let isDir = destinationIsDirectory(destination)
        let base = destination.hasPrefix("/") ? destination : (workdir.isEmpty ? "/" : workdir) + "/" + destination
        let cleaned = PathClean.clean(base)
        return isDir && cleaned != "/" ? cleaned + "/" : cleaned
    }

    /// `ADD --checksum=sha256:<64 hex digits>`.
    static func checkChecksum(_ word: Word) throws {
        let parts = word.text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[0] == "sha256", parts[1].count == 64,
            parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else {
            throw DockerfileError.syntax(
                word.location,
                "invalid --checksum=\(word.text): write sha256: and the 64 lower-case hex digits of the file's digest (sha256sum prints them)"
            )
        }
    }

    /// ADD sources BuildKit downloads over HTTP (`isHTTPSource`); git URLs are told apart by `isGitURL`.
    public static func isHTTPURL(_ source: String) -> Bool {
        source.hasPrefix("http://") || source.hasPrefix("https://")
    }

    /// `git@host:repo`, `git://...`, `ssh://...`, or an http(s) URL of a `.git` repository (optionally `#ref`).
    public static func isGitURL(_ source: String) -> Bool {
        if source.hasPrefix("git@") || source.hasPrefix("git://") || source.hasPrefix("ssh://") { return true }
        let withoutFragment = source.split(separator: "#", maxSplits: 1).first.map(String.init) ?? source
        return isHTTPURL(source) && withoutFragment.hasSuffix(".git")
    }

    /// Docker's rule: several sources (listed, or from a wildcard) need a directory destination ending in `/`.
    public static func checkDestination(
        _ destination: Word, matchedSourceCount: Int, keyword: InstructionKeyword = .copy
    ) throws {
        if matchedSourceCount > 1 && !destinationIsDirectory(destination.text) {
            throw DockerfileError.copySource(
                destination.location,
                "when using \(keyword.rawValue) with more than one source file, the destination must be a directory and end with a /: write \(destination.text)/"
            )
        }
    }

    /// Expands source patterns (Go `filepath.Match` per path component, no `**`) against `root`
    /// (the build context or a stage's filesystem) and returns the matched paths relative to it,
    /// sorted. Paths excluded by `ignore` are left out; a source that matches nothing, or only
    /// excluded paths, is an error naming the .dockerignore line.
    public static func expand(
        _ source: Word, in root: URL, ignore: DockerIgnore? = nil, lookup: SourceLookup? = nil
    ) throws -> [String] {
        let lookup = lookup ?? .fileSystem(root)
        let relative = PathClean.contextRelative(source.text)
        if relative == "." { return ["."] }
        let components = relative.split(separator: "/").map(String.init)
        var candidates: [String] = [""]
        var usedWildcard = false
        for component in components {
            let glob: GlobPattern
            do { glob = try GlobPattern(component) } catch let e as GlobPattern.SyntaxError {
                throw DockerfileError.copySource(source.location, "bad source pattern `\(source.text)`: \(e.message)")
            }
            var next: [String] = []
            for base in candidates {
                if glob.hasWildcard {
                    usedWildcard = true
                    for name in try lookup.names(base).sorted() where glob.matches(name) {
                        next.append(base.isEmpty ? name : base + "/" + name)
                    }
                } else {
                    // A literal component may still hold escapes (`\*`); match it as a pattern of one name.
                    let literal = glob.literalText ?? component
                    let path = base.isEmpty ? literal : base + "/" + literal
                    if try lookup.isDirectory(path) != nil { next.append(path) }
                }
            }
            candidates = next
        }
        if candidates.isEmpty {
            if usedWildcard {
                throw DockerfileError.copySource(
                    source.location,
                    "no source files were specified: `\(source.text)` matches nothing in the build context; check the pattern and the context directory"
                )
            }
            throw DockerfileError.copySource(
                source.location,
                "`\(source.text)` not found in the build context; check the path (it is relative to the context directory, not to the Dockerfile)"
            )
        }
        guard let ignore else { return candidates }
        var kept: [String] = []
        var firstExcluded: (String, String)? = nil
        for path in candidates {
            if let why = ignore.explainExclusion(path) {
                if try lookup.isDirectory(path) == true && ignore.mayContainIncluded(path) {
                    kept.append(path); continue
                }
                if firstExcluded == nil { firstExcluded = (path, why) }
                continue
            }
            kept.append(path)
        }
        if kept.isEmpty, let (path, why) = firstExcluded {
            throw DockerfileError.copySource(
                source.location, "`\(path)` is \(why); remove that line or add `!\(path)` to \(ignore.file)")
        }
        return kept
    }
}

extension GlobPattern {
    /// The plain name when the pattern has no wildcard (escapes removed).
    var literalText: String? {
        var out = ""
        for t in tokens {
            guard case .literal(let c) = t else { return nil }
            out.append(c)
        }
        return out
    }
}
