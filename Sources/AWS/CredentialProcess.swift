import Foundation

/// Runs a profile's `credential_process` and reads the JSON it prints
/// (`{"Version": 1, "AccessKeyId": ..., "SecretAccessKey": ..., "SessionToken": ..., "Expiration": ...}`).
/// Like botocore it splits the command shell-style and runs it without a shell.
struct CredentialProcess: Sendable {
    var command: String
    var profile: String
    var path: String
    var environment: [String: String]

    func run() async throws -> AWSCredentials {
        guard let arguments = Self.split(command) else { throw failure("the command has an unterminated quote") }
        guard !arguments.isEmpty else { throw failure("the command is empty") }

        let scratch = FileManager.default.temporaryDirectory
            .appendingPathComponent("imagekit-credential-process-\(UUID().uuidString)")
        try? FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        // Files rather than pipes: nothing to drain while waiting, whatever the output size.
        let stdoutURL = scratch.appendingPathComponent("stdout")
        let stderrURL = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(
            atPath: stdoutURL.path, contents: nil, attributes: [.posixPermissions: 0o600])
        _ = FileManager.default.createFile(
            atPath: stderrURL.path, contents: nil, attributes: [.posixPermissions: 0o600])

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let stdoutHandle = try FileHandle(forWritingTo: stdoutURL)
        let stderrHandle = try FileHandle(forWritingTo: stderrURL)
        process.standardOutput = stdoutHandle
        process.standardError = stderrHandle

        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: failure("cannot start it: \(error.localizedDescription)"))
            }
        }
        try? stdoutHandle.close()
        try? stderrHandle.close()

        let stderrText =
            (try? String(contentsOf: stderrURL, encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard status == 0 else {
            let detail = stderrText.isEmpty ? "" : ": \(String(stderrText.suffix(500)))"
            throw failure(
                status == 127 ? "command not found (exit status 127)\(detail)" : "exit status \(status)\(detail)")
        }
        let output = (try? Data(contentsOf: stdoutURL)) ?? Data()
        return try parse(output)
    }

    /// Never quotes the output: it holds the secret.
    func parse(_ output: Data) throws -> AWSCredentials {
        guard let object = try? JSONSerialization.jsonObject(with: output) as? [String: Any] else {
            throw failure(
                "its output is not a JSON object (expected {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...})"
            )
        }
        guard (object["Version"] as? NSNumber)?.intValue == 1 else {
            throw failure("its output must have \"Version\": 1")
        }
        guard let keyId = object["AccessKeyId"] as? String, !keyId.isEmpty else {
            throw failure("its output has no \"AccessKeyId\"")
        }
        guard let secret = object["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw failure("its output has no \"SecretAccessKey\"")
        }
        var expiration: Date?
        if let text = object["Expiration"] as? String {
            guard let date = Self.parseISO8601(text) else {
                throw failure("its \"Expiration\" is not an ISO 8601 time: \(text)")
            }
            guard date > Date() else { throw failure("it returned credentials that expired at \(text)") }
            expiration = date
        }
        return AWSCredentials(
            accessKeyId: keyId, secretAccessKey: secret,
            sessionToken: object["SessionToken"] as? String, expiration: expiration,
            source: "credential_process of profile \"\(profile)\" in \(path)")
    }

    private func failure(_ detail: String) -> AWSError {
        AWSError.credentialProcessFailed(profile: profile, command: command, detail: detail)
    }

    static func parseISO8601(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }

    /// POSIX shell word splitting without expansions: quotes and backslashes, as Python's shlex.split.
    /// Nil when a quote is not closed.
    static func split(_ command: String) -> [String]? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var iterator = Array(command).makeIterator()
        while let char = iterator.next() {
            switch char {
            case " ", "\t", "\n":
                if inWord { words.append(current); current = ""; inWord = false }
            case "'":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "'" { closed = true; break }
                    current.append(next)
                }
                if !closed { return nil }
            case "\"":
                inWord = true
                var closed = false
                while let next = iterator.next() {
                    if next == "\"" { closed = true; break }
                    if next == "\\" {
                        guard let escaped = iterator.next() else { break }
                        if "\"\\$`".contains(escaped) {
                            current.append(escaped)
                        } else {
                            current.append("\\"); current.append(escaped)
                        }
                        continue
                    }
                    current.append(next)
                }
                if !closed { return nil }
            case "\\":
                inWord = true
                if let escaped = iterator.next() { current.append(escaped) }
            default:
                inWord = true
                current.append(char)
            }
        }
        if inWord { words.append(current) }
        return words
    }
}
