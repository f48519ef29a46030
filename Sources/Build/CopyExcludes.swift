import Dockerfile
import Foundation

/// `COPY --exclude=PATTERN`: .dockerignore-style patterns matched against each copied path
/// relative to its source (a directory source's contents, or a file's own name), as BuildKit
/// applies them; a path inside an excluded directory is excluded with it.
struct CopyExcludes {
    let patterns: DockerIgnore

    init?(_ words: [Word]) throws {
        guard !words.isEmpty else { return nil }
        do {
            patterns = try DockerIgnore(parsing: words.map(\.text).joined(separator: "\n"), file: "--exclude")
        } catch let error as DockerfileError {
            throw DockerfileError.syntax(words[0].location, "bad --exclude pattern: \(error.message)")
        }
    }

    /// `destination` is where the sources land (relative to the image root, no leading "/").
    func excludes(_ item: CopyStep.Item, destination: String) -> Bool {
        let path = item.destination
        let relative: String
        if path == destination {
            relative = item.source.lastPathComponent
        } else if destination.isEmpty {
            relative = path
        } else if path.hasPrefix(destination + "/") {
            relative = String(path.dropFirst(destination.count + 1))
        } else {
            relative = path
        }
        var current = ""
        for component in relative.split(separator: "/") {
            current += (current.isEmpty ? "" : "/") + component
            if patterns.isExcluded(current) { return true }
        }
        return false
    }
}
