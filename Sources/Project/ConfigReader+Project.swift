import ConfigFile
import Foundation
import Yams

/// The project file's own value types, on top of the shared configuration reader.
extension ConfigReader where Failure == ProjectError {
    init(projectFile file: String) {
        self.init(file: file) { .invalid(file: $0, line: $1, message: $2) }
    }

    /// Seconds, from `600`, `90s` or `15m`.
    func duration(_ node: Node, what: String) throws(ProjectError) -> Int {
        let text = try string(node, what: what)
        guard let seconds = ProjectFile.Scan.seconds(text) else {
            throw error(node, "\(what) should be a duration such as 600, 90s or 15m, not '\(text)'")
        }
        return seconds
    }
}
