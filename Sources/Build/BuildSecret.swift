import Foundation

/// A secret given to the build (`--secret`): read only by the RUN steps that mount it, never part
/// of a layer, the image config or a cache key.
public enum BuildSecret: Sendable, Equatable {
    /// `src=FILE`: read when a RUN step mounts it, so a large or changing file is not held in memory.
    case file(URL)
    /// `env=VAR`: the variable's value, taken when the build starts.
    case value(Data)

    /// The secret's bytes; a file that went away is the user's to fix.
    func contents() throws(BuildError) -> Data {
        switch self {
        case .value(let data): return data
        case .file(let url):
            do { return try Data(contentsOf: url) } catch {
                throw .runFailed(reason: "cannot read the secret file \(url.path): \(error.localizedDescription)")
            }
        }
    }
}
