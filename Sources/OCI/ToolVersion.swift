/// imagekit's version, in one place: `--version`, reports (SARIF's tool.driver) and the
/// registry User-Agent all read it.
public enum ToolVersion {
    public static let name = "imagekit"
    public static let version = "0.1.0"
    public static var userAgent: String { "\(name)/\(version)" }
}
