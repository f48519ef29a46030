import Dockerfile
import Foundation

/// `ADD <git URL>[#ref[:subdir]] DEST` as BuildKit does it where git is installed: the repository
/// is cloned (no submodules, no prompts, no hooks of ours), the ref checked out, `.git` left out
/// (kept with `--keep-git-dir`), and the tree copied like a context directory. The commit goes
/// into the step's cache key.
enum AddGit {
    struct Checkout {
        var url: String
        var commit: String
        /// The directory whose contents are copied (the checkout, or its `:subdir`).
        var directory: URL
    }

    static func fetch(_ copy: CopyInstruction, into workRoot: URL, warn: (String) -> Void) throws -> [Checkout] {
        var checkouts: [Checkout] = []
        for source in copy.sources where CopySources.isGitURL(source.text) {
            let location = source.location.description
            guard
                let gitPath = ["/usr/bin/git", "/usr/local/bin/git", "/bin/git"].first(where: {
                    FileManager.default.isExecutableFile(atPath: $0)
                })
            else {
                throw BuildError.instruction(
                    location: location,
                    message: "ADD of a git repository needs git on this machine: apt-get install git")
            }
            let (url, ref, subdir) = split(source.text)
            if let ref, ref.hasPrefix("-") {
                throw BuildError.instruction(
                    location: location, message: "git ref `\(ref)` cannot start with '-'; name a branch, tag or commit")
            }
            let directory = workRoot.appendingPathComponent("add-git-\(UUID().uuidString.lowercased().prefix(12))")
            func git(_ args: [String], in dir: URL? = nil) throws -> String {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: gitPath)
                process.arguments = (dir.map { ["-C", $0.path] } ?? []) + args
                // No prompt for credentials, no system or user configuration (hooks, helpers) of the host.
                process.environment = [
                    "PATH": "/usr/bin:/bin", "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1",
                    "HOME": workRoot.path, "GIT_ASKPASS": "/bin/false",
                ]
                let out = Pipe(), err = Pipe()
                process.standardOutput = out
                process.standardError = err
                process.standardInput = FileHandle.nullDevice
                try process.run()
                let output = out.fileHandleForReading.readDataToEndOfFile()
                let errors = err.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    let reason = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                    let command = args.first { !$0.hasPrefix("-") && !$0.contains("=") } ?? "git"
                    throw BuildError.download(
                        location: location, url: source.text, reason: "git \(command) failed: \(reason)")
                }
                return String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            }
            _ = try git(["-c", "core.symlinks=true", "clone", "--quiet", "--no-checkout", "--", url, directory.path])
            // A branch other than the default one is only known as origin/NAME after a clone.
            var commit: String?
            for candidate in [ref ?? "HEAD", "origin/" + (ref ?? "HEAD")] where commit == nil {
                commit = try? git(["rev-parse", "--verify", "--quiet", candidate + "^{commit}"], in: directory)
            }
            guard let commit else {
                throw BuildError.download(
                    location: location, url: source.text,
                    reason: "no branch, tag or commit `\(ref ?? "HEAD")` in \(url)")
            }
            _ = try git(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", commit], in: directory)
            if copy.keepGitDirectory {
                // What varies from clone to clone goes: reflogs (times), FETCH_HEAD/ORIG_HEAD, and the
                // index's file stats (read-tree writes it without them; git refreshes them on use).
                // Packs a server makes can still differ between clones, so the build says so.
                let gitDirectory = directory.appendingPathComponent(".git")
                for name in ["logs", "FETCH_HEAD", "ORIG_HEAD", "index"] {
                    try? FileManager.default.removeItem(at: gitDirectory.appendingPathComponent(name))
                }
                _ = try git(["read-tree", commit], in: directory)
                warn(
                    "\(location): ADD --keep-git-dir \(source.text): the .git directory holds what the server sent, so the layer may differ between builds"
                )
            } else {
                try FileManager.default.removeItem(at: directory.appendingPathComponent(".git"))
            }
            var root = directory
            if let subdir, !subdir.isEmpty {
                let relative = PathClean.contextRelative(subdir)
                root = directory.appendingPathComponent(relative)
                var st = stat()
                guard lstat(root.path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
                    throw BuildError.instruction(
                        location: location, message: "\(subdir) is not a directory in \(url) at \(ref ?? "HEAD")")
                }
            }
            checkouts.append(Checkout(url: source.text, commit: commit, directory: root))
        }
        return checkouts
    }

    /// `URL#ref:subdir` (BuildKit's fragment form).
    static func split(_ source: String) -> (url: String, ref: String?, subdir: String?) {
        let parts = source.split(separator: "#", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return (source, nil, nil) }
        let fragment = parts[1].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (parts[0], fragment[0].isEmpty ? nil : fragment[0], fragment.count > 1 ? fragment[1] : nil)
    }
}
