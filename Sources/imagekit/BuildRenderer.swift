import Archive
import ArgumentParser
import Build
import Dockerfile
import Foundation
import OCI
import Project
import Registry
import Store

/// Build progress on stderr: one line per step, RUN output indented; nothing with --progress quiet.
struct BuildRenderer: BuildProgress {
    let options: ProgressOptions

    func step(_ label: String, _ text: String) { options.say("\(label) \(text)") }
    func cached(_ label: String) { options.say("\(label) CACHED") }
    func cached(_ label: String, from source: String) { options.say("\(label) CACHED (registry cache \(source))") }
    func output(_ line: String) { options.say("  | \(line)") }
    func note(_ text: String) { options.say("=> \(text)") }
}
