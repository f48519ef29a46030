import Dockerfile
import Foundation

/// COPY/ADD heredoc sources (`COPY <<EOF /etc/app.conf`): each body becomes a file named after its
/// delimiter, mode 0644 as BuildKit creates it, in a directory of its own under the build's scratch
/// space, and is then copied like a file of the context (never unpacked by ADD).
enum HeredocFiles {
    static func write(_ heredocs: [Heredoc], under workRoot: URL) throws -> [URL] {
        guard !heredocs.isEmpty else { return [] }
        var files: [URL] = []
        for doc in heredocs {
            // The delimiter is a file name: one component, so the file cannot land elsewhere.
            guard !doc.name.contains("/"), doc.name != ".", doc.name != ".." else {
                throw BuildError.instruction(
                    location: doc.location.description,
                    message:
                        "the heredoc delimiter `\(doc.name)` is used as a file name; use a plain name such as app.conf, or name the file in the destination"
                )
            }
            let directory = workRoot.appendingPathComponent("heredoc-\(UUID().uuidString.lowercased().prefix(12))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent(doc.name)
            try Data(doc.content.utf8).write(to: file)
            chmod(file.path, 0o644)
            files.append(file)
        }
        return files
    }
}
