import ArgumentParser
import Foundation

/// Errors a command raises itself; `code` follows the documented exit codes.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }

    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, code: ExitStatus.usage) }
    static func check(_ message: String) -> CommandFailure {
        CommandFailure(message: message, code: ExitStatus.checkFailed)
    }
    static func remote(_ message: String) -> CommandFailure {
        CommandFailure(message: message, code: ExitStatus.remote)
    }
}

enum ErrorReporter {
    /// Prints one clear line (the error's own message) to stderr and returns the exit code.
    static func report(_ error: Error, command: ParsableCommand.Type) -> Int32 {
        if let failure = error as? CommandFailure {
            if !failure.message.isEmpty { printError(failure.message) }
            return failure.code
        }
        if let exit = error as? ExitCode { return exit.rawValue }
        if let coded = error as? ExitCoded {
            printError("\(error)")
            return coded.exitCode
        }
        let code = command.exitCode(for: error)
        if code == .success {  // --help, --version
            FileHandle.standardOutput.write(Data((command.fullMessage(for: error) + "\n").utf8))
            return 0
        }
        // Argument Parser's own errors (unknown flag, failed validation) come with the usage text.
        if code == .validationFailure {
            FileHandle.standardError.write(Data((command.fullMessage(for: error) + "\n").utf8))
            return ExitStatus.usage
        }
        printError("\(error)")
        return ExitStatus.usage
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }
}
