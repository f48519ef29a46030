/// Errors of a build. Each names the Dockerfile position when one applies and what to do.
public enum BuildError: Error, CustomStringConvertible, Sendable {
    case runtimeMissing(String)
    case mountFailed(target: String, reason: String)
    case runFailed(reason: String)
    case unknownUser(String, reason: String)
    case stepFailed(location: String, command: String, exitCode: Int32, tail: [String])
    case instruction(location: String, message: String)
    case context(path: String, message: String)
    case baseImage(location: String, message: String)
    case internalState(String)
    /// `ADD --checksum` does not match what the URL served.
    case checksumMismatch(location: String, url: String, expected: String, actual: String)
    /// `ADD https://...` could not be downloaded.
    case download(location: String, url: String, reason: String)

    public var description: String {
        switch self {
        case .runtimeMissing(let message):
            return message
        case .mountFailed(let target, let reason):
            return "cannot mount the build filesystem at \(target): \(reason)"
        case .runFailed(let reason):
            return "cannot run the build step: \(reason)"
        case .unknownUser(let user, let reason):
            return "cannot resolve USER '\(user)': \(reason); add the user in an earlier RUN or use a numeric uid"
        case .stepFailed(let location, let command, let code, let tail):
            let lines = tail.suffix(10).map { "  | \($0)" }.joined(separator: "\n")
            return "\(location): RUN \(command) failed with exit code \(code)" + (lines.isEmpty ? "" : "\n\(lines)")
        case .instruction(let location, let message):
            return "\(location): \(message)"
        case .context(let path, let message):
            return "\(path): \(message)"
        case .baseImage(let location, let message):
            return "\(location): \(message)"
        case .internalState(let message):
            return message
        case .checksumMismatch(let location, let url, let expected, let actual):
            return
                "\(location): checksum mismatch for \(url): --checksum expects \(expected) but the download is \(actual); check the URL, or update --checksum if the new file is the one you want"
        case .download(let location, let url, let reason):
            return "\(location): cannot download \(url): \(reason); check the URL and that this machine can reach it"

        }
    }
}
