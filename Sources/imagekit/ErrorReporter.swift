import ArgumentParser
import Foundation
import OCI
import Store
import Archive
import Build
import Dockerfile
import Project

/// Errors a command raises itself; `code` follows the documented exit codes.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }

    static func usage(_ message: String) -> CommandFailure { CommandFailure(message: message, code: 2) }
    static func check(_ message: String) -> CommandFailure { CommandFailure(message: message, code: 1) }
    static func remote(_ message: String) -> CommandFailure { CommandFailure(message: message, code: 3) }
}

/// Errors that know their exit code (module errors conform in the executable, not in their modules).
protocol ExitCoded { var exitCode: Int32 { get } }

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
        if code == .validationFailure || "\(type(of: error))".contains("CommandError") || "\(type(of: error))".contains("ValidationError") {
            FileHandle.standardError.write(Data((command.fullMessage(for: error) + "\n").utf8))
            return 2
        }
        printError("\(error)")
        return 2
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }
}

extension StoreError: ExitCoded { var exitCode: Int32 { 2 } }
extension ArchiveError: ExitCoded { var exitCode: Int32 { 2 } }
extension DockerfileError: ExitCoded { var exitCode: Int32 { 2 } }
extension ProjectError: ExitCoded { var exitCode: Int32 { 2 } }
extension BuildError: ExitCoded {
    var exitCode: Int32 {
        switch self {
        case .stepFailed, .checksumMismatch: return 1
        case .download: return 3
        default: return 2
        }
    }
}
extension OCIError: ExitCoded { var exitCode: Int32 { 2 } }
