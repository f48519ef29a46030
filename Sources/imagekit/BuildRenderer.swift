import Archive
import ArgumentParser
import Build
import Dockerfile
import Foundation
import OCI
import Project
import Registry
import Store

/// Build progress on stderr: one line per step, RUN output indented and prefixed with its stage
/// (stages run concurrently); nothing with --progress quiet. With IMAGEKIT_PROGRESS_TIMES=1 every
/// line starts with the seconds since the build started (for profiling a build).
struct BuildRenderer: BuildProgress {
    let options: ProgressOptions
    let started: Date?

    init(options: ProgressOptions, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.options = options
        started = environment["IMAGEKIT_PROGRESS_TIMES"] == "1" ? Date() : nil
    }

    private func say(_ line: String) {
        guard let started else { return options.say(line) }
        options.say(String(format: "%7.2f ", Date().timeIntervalSince(started)) + line)
    }

    func step(_ label: String, _ text: String) { say("\(label) \(text)") }
    func cached(_ label: String) { say("\(label) CACHED") }
    func cached(_ label: String, from source: String) { say("\(label) CACHED (registry cache \(source))") }
    func output(_ line: String) { say("  | \(line)") }
    func output(_ line: String, stage: String) { say("  [\(stage)] | \(line)") }
    func note(_ text: String) { say("=> \(text)") }
}
