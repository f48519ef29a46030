import ArgumentParser
import Foundation
import OCI

/// The executable: parses arguments, runs one command, maps errors to exit codes. Nothing else.
@main
struct Imagekit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imagekit",
        abstract: "Build, verify and push container images without a Docker daemon.",
        discussion: """
            In a project with an imagekit.yaml, `imagekit build`, `imagekit verify` and `imagekit push --tag TAG` \
            need no other arguments. Results go to stdout, progress and errors to stderr.

            EXIT CODES
              0    success
              1    the image failed a check: a policy is violated (verify),
                   or a build step failed (build)
              2    usage or input error: bad arguments, unreadable or malformed
                   files, unknown image
              3    remote error: registry or AWS unreachable, refused credentials,
                   upload failed after retries
              130  interrupted (Ctrl-C)
            """,
        version: ToolVersion.version,
        subcommands: CommandRegistry.all
    )

    static func main() async {
        do {
            var command = try parseAsRoot(globalOptionsMoved(Array(CommandLine.arguments.dropFirst())))
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            Foundation.exit(ErrorReporter.report(error, command: Self.self))
        }
    }

    /// `imagekit --store PATH build ...`: global options may come before the subcommand;
    /// they are handed to it (every command that uses the store declares --store).
    static func globalOptionsMoved(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("--store") {
            if arguments[index] == "--store", index + 1 < arguments.count {
                leading += [arguments[index], arguments[index + 1]]
                index += 2
            } else {
                leading.append(arguments[index])
                index += 1
            }
        }
        guard !leading.isEmpty, index < arguments.count else { return arguments }
        return [arguments[index]] + leading + arguments[(index + 1)...]
    }
}
