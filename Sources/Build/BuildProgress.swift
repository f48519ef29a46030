import Foundation

/// Progress events; the CLI renders them on stderr.
public protocol BuildProgress: Sendable {
    func step(_ label: String, _ text: String)
    func cached(_ label: String)
    func output(_ line: String)
    /// A RUN step's output line; `stage` names the stage (its name, or `stage-N`), since stages
    /// run concurrently and their lines interleave.
    func output(_ line: String, stage: String)
    func note(_ text: String)
    /// A step answered by a registry build cache (`source` names it).
    func cached(_ label: String, from source: String)
}

extension BuildProgress {
    public func cached(_ label: String, from source: String) { cached(label) }
    public func output(_ line: String, stage: String) { output(line) }
}
