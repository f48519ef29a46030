/// Errors in the project file (`imagekit.yaml`), and a project with no recorded build.
public enum ProjectError: Error, CustomStringConvertible, Sendable {
    case syntax(file: String, line: Int, message: String)
    case invalid(file: String, line: Int, message: String)
    case unreadable(file: String, reason: String)
    case noLastBuild(project: String)

    public var description: String {
        switch self {
        case .syntax(let file, let line, let message):
            return "\(file):\(line): \(message) (YAML syntax)"
        case .invalid(let file, let line, let message):
            return "\(file):\(line): \(message)"
        case .unreadable(let file, let reason):
            return "cannot read \(file): \(reason)"
        case .noLastBuild(let project):
            return
                "no image given and the project in \(project) has not been built with this store yet; run `imagekit build` first or name the image"
        }
    }
}
