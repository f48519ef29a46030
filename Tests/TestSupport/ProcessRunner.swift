import Foundation

/// What a finished program left: its exit status and everything it wrote.
public struct ProcessResult: Sendable {
    public let executable: String
    public let arguments: [String]
    public let status: Int32
    public let stdoutData: Data
    public let stderrData: Data

    public var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    public var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    public var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// The result itself when the program exited 0; otherwise an error naming the command and its stderr.
    @discardableResult
    public func checked() throws -> ProcessResult {
        guard status == 0 else {
            throw TestSupportError(
                "\(executable) \(arguments.joined(separator: " ")) exited with \(status): \(stderr)")
        }
        return self
    }
}

/// Runs a program to completion; a non-zero exit is a result, not an error (use `checked()`).
/// Output goes through temp files, so a chatty program can never block on a full pipe.
/// `environment` is laid over the inherited one; `unsetting` removes inherited variables.
/// Standard input is `stdin`, else the file `stdinFile`, else empty.
@discardableResult
public func run(
    _ executable: String, _ arguments: [String], stdin: Data? = nil, stdinFile: URL? = nil,
    environment: [String: String] = [:], unsetting: [String] = [], directory: URL? = nil
) throws -> ProcessResult {
    let scratch = try TemporaryDirectory(prefix: "imagekit-run")
    let outURL = scratch.appending("stdout"), errURL = scratch.appending("stderr"), inURL = scratch.appending("stdin")
    FileManager.default.createFile(atPath: outURL.path, contents: nil)
    FileManager.default.createFile(atPath: errURL.path, contents: nil)
    FileManager.default.createFile(atPath: inURL.path, contents: stdin ?? Data())
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var inherited = ProcessInfo.processInfo.environment
    for name in unsetting { inherited.removeValue(forKey: name) }
    process.environment = inherited.merging(environment) { $1 }
    if let directory { process.currentDirectoryURL = directory }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = try FileHandle(forReadingFrom: stdinFile ?? inURL)
    try process.run()
    process.waitUntilExit()
    return ProcessResult(
        executable: executable, arguments: arguments, status: process.terminationStatus,
        stdoutData: (try? Data(contentsOf: outURL)) ?? Data(), stderrData: (try? Data(contentsOf: errURL)) ?? Data())
}

/// Finds a program on PATH, then in `extra` directories (Debian keeps runc and umoci in /usr/sbin).
public func which(_ name: String, extra: [String] = ["/usr/sbin", "/usr/bin", "/sbin"]) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":").map(String.init) + extra {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// A file the kernel generates (/proc/mounts): read until end of file, since Foundation's readers
/// return only its first 4 KiB (a busy machine's mount table is longer).
public func kernelFile(_ path: String) -> String {
    guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
    defer { try? handle.close() }
    var data = Data()
    while let chunk = try? handle.read(upToCount: 64 * 1024), !chunk.isEmpty { data.append(chunk) }
    return String(decoding: data, as: UTF8.self)
}
