import ArgumentParser
import Foundation
import Policy
import Project
import Store

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check an image against a policy: size, user, HEALTHCHECK, ports, secrets, file permissions.",
        discussion: """
            IMAGE is a store image (name, name:tag, digest), an OCI image layout (oci:DIR[:TAG], or a \
            directory containing oci-layout) or a docker-archive tar (docker-archive:FILE[:TAG], or a .tar \
            path). Without IMAGE, in a project (imagekit.yaml), the image of the project's last \
            `imagekit build` is verified with the project's policy (verify.policy, else \
            policies/default.yaml) and limits (verify.maxSize, verify.maxCompressedSize).

            Policies are YAML files (see policies/README.md). --policy takes a file, or a directory \
            (its default.yaml, or its only .yaml file). Flags override the policy file.

            SIZES accept B, KB, MB, GB, TB (decimal, as `docker images` shows: 1 MB = 1,000,000 bytes) \
            and KiB, MiB, GiB, TiB (binary: 1 MiB = 1,048,576 bytes), e.g. 500MB, 1.5GB, 512MiB.

            EXIT CODES
              0  passed (failures below --fail-on and suppressed rules do not count)
              1  the policy is violated
              2  usage or input error: bad arguments, malformed policy, unknown image
            """)

    @OptionGroup var storeOptions: StoreOptions

    @Argument(
        help:
            "The image: name[:tag], digest, oci:DIR[:TAG], docker-archive:FILE[:TAG], a layout directory or a .tar file."
    )
    var image: String?

    @Option(name: .long, help: ArgumentHelp("Policy file, or a directory holding default.yaml.", valueName: "file|dir"))
    var policy: String?

    @Option(
        name: .customLong("max-size"),
        help: ArgumentHelp("Maximum uncompressed size, e.g. 500MB (overrides the policy).", valueName: "size"))
    var maxSize: String?

    @Option(
        name: .customLong("max-compressed-size"),
        help: ArgumentHelp("Maximum compressed (registry) size, e.g. 200MB.", valueName: "size"))
    var maxCompressedSize: String?

    @Option(name: .long, help: "Report format: text, json, junit or sarif.")
    var format: ReportFormat = .text

    @Option(
        name: [.short, .long],
        help: ArgumentHelp("Write the report to this file (atomically) instead of stdout.", valueName: "file"))
    var output: String?

    @Option(
        name: .customLong("fail-on"),
        help: ArgumentHelp(
            "Lowest severity that fails verification: error, warning or info (overrides the policy's failOn).",
            valueName: "severity"))
    var failOn: Severity?

    func run() async throws {
        let project = try ProjectFile.find(in: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
        let imageName = try image ?? lastBuiltImage(project)
        var document = try loadPolicy(project: project)
        if let maxSize = maxSize ?? project?.verify.maxSize {
            var size = document.size ?? SizeLimits()
            size.maxUncompressed = try ByteSize.parse(maxSize)
            document.size = size
        }
        if let maxCompressedSize = maxCompressedSize ?? project?.verify.maxCompressedSize {
            var size = document.size ?? SizeLimits()
            size.maxCompressed = try ByteSize.parse(maxCompressedSize)
            document.size = size
        }
        if let failOn { document.failOn = failOn }

        let subject = try await ImageLocator.load(imageName, storeRoot: storeOptions.storeURL)
        let report = try Verifier.verify(subject, policy: document)
        let color =
            format == .text && output == nil && isatty(STDOUT_FILENO) == 1
            && (ProcessInfo.processInfo.environment["NO_COLOR"] ?? "").isEmpty
        let data = try Report.render(report, format: format, color: color)
        if let output {
            try FileOps.atomicWrite(data, to: URL(fileURLWithPath: output))
            if format != .text { FileHandle.standardError.write(Data(Report.text(report, color: false).utf8)) }
        } else {
            FileHandle.standardOutput.write(data)
        }
        if !report.passed {
            let failed = report.results.filter(\.violation).map(\.title)
            throw CommandFailure.check(
                "\(imageName) violates policy \(report.policy.name): \(failed.joined(separator: ", "))")
        }
    }

    /// The image the project's last `imagekit build` produced, else the project's `image:`.
    private func lastBuiltImage(_ project: ProjectFile?) throws -> String {
        guard let project else {
            throw CommandFailure.usage(
                "give an IMAGE to verify (or run in a project directory with an imagekit.yaml and a previous `imagekit build`)"
            )
        }
        if let last = try storeOptions.open().lastBuild(ofProject: project.directory) { return last.digest }
        if let name = project.image { return name }
        throw ProjectError.noLastBuild(project: project.directory.path)
    }

    /// --policy, else the project's verify.policy, else policies/default.yaml (in the project, or
    /// here); none at all is fine only when a flag or the project sets a limit.
    private func loadPolicy(project: ProjectFile?) throws -> PolicyDocument {
        var path = policy ?? project?.verify.policy.map { project!.resolve($0).path }
        if path == nil {
            let fallback = project?.resolve("policies/default.yaml").path ?? "policies/default.yaml"
            if FileManager.default.fileExists(atPath: fallback) { path = fallback }
        }
        guard var path else {
            guard
                maxSize != nil || maxCompressedSize != nil || project?.verify.maxSize != nil
                    || project?.verify.maxCompressedSize != nil
            else {
                throw CommandFailure.usage(
                    "no policy: give --policy FILE, create policies/default.yaml (see policies/README.md), or set a limit with --max-size"
                )
            }
            return PolicyDocument(name: "command-line")
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            path = try PolicyLoader.resolve(directory: path)
        }
        return try PolicyLoader.load(file: path)
    }
}

extension Severity: ExpressibleByArgument {}
extension ReportFormat: ExpressibleByArgument {}
