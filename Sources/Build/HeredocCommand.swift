import Dockerfile
import Foundation

/// How BuildKit runs a RUN with here-documents (dockerfile frontend `dispatchRun`):
/// - the command is only `<<EOF` and the body starts with `#!`: the body becomes an executable
///   file at /dev/pipes/EOF and the shell runs that file;
/// - the command is only `<<EOF`: the body is the shell's script;
/// - otherwise (`python3 <<EOF`, several heredocs): the command line and the bodies are joined
///   back into one script, and the shell handles the heredocs itself (`<<-`, quoting).
struct HeredocCommand {
    /// Where a script heredoc is mounted, as BuildKit does.
    static let scriptDirectory = "/dev/pipes"

    /// The executable file a `#!` heredoc becomes.
    struct Script {
        var name: String
        var content: String
        var path: String { HeredocCommand.scriptDirectory + "/" + name }
    }

    var args: [String]
    var script: Script?

    init(_ run: RunInstruction, shell: [String], location: String) throws {
        guard !run.heredocs.isEmpty, case .shell(let text) = run.command else {
            self.args = run.command.arguments(shell: shell)
            return
        }
        let only =
            run.heredocs.count == 1
            && Heredoc.marker(Array(text.trimmingCharacters(in: .whitespaces)), escape: "\\") != nil
        guard only, let doc = run.heredocs.first else {
            var full = text
            for doc in run.heredocs { full += "\n" + doc.content + doc.name }
            self.args = shell + [full]
            return
        }
        let body = doc.chompedContent
        guard body.hasPrefix("#!") else {
            self.args = shell + [body]
            return
        }
        // The name becomes a file name under /dev/pipes: one plain component, nothing that climbs out.
        guard !doc.name.contains("/"), doc.name != ".", doc.name != ".." else {
            throw BuildError.instruction(
                location: location,
                message:
                    "the heredoc delimiter `\(doc.name)` names the script file run from \(Self.scriptDirectory); use a plain name such as EOF"
            )
        }
        let script = Script(name: doc.name, content: body)
        self.script = script
        self.args = shell + [script.path]
    }

    /// Writes the script (mode 0755) under `directory` and returns the bind that shows it in the container.
    func mountScript(in directory: URL) throws -> RunSpec.Bind? {
        guard let script else { return nil }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let file = directory.appendingPathComponent("heredoc-script")
        try Data(script.content.utf8).write(to: file)
        chmod(file.path, 0o755)
        return RunSpec.Bind(source: file.path, destination: script.path, readOnly: true)
    }
}
