import ArgumentParser
import Deploy
import Foundation
import OCI
import Project
import Registry
import Store

struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Push an image from the store to a registry.",
        discussion: """
            Blobs the registry has are skipped, so a push after a small change uploads only the new layers. \
            Prints REGISTRY/REPO@sha256:... (or JSON with --json). In a project, plain `imagekit push --tag TAG` \
            pushes the last build to the project's repository and writes the digest where imagekit.yaml says. \
            Amazon ECR (ecr://NAME or ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME): imagekit gets the registry \
            password from ECR itself, signed with the AWS credential chain. Other registries: --username with \
            --password-stdin, else Docker's config (auths, credHelpers, credsStore). \
            --scan (or push.scan in imagekit.yaml) waits for ECR's scan of the pushed digest and exits 1 on \
            findings at or above --scan-fail-on before any deployment file is written.
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var registryOptions: RegistryOptions
    @OptionGroup var progressOptions: ProgressOptions
    @Argument(help: "The image in the store: name[:tag], digest or digest prefix.") var image: String?
    @Option(
        help: ArgumentHelp("Where to push: REGISTRY/REPO (default: the image's own name).", valueName: "registry/repo"))
    var repository: String?
    @Option(name: .customLong("tag"), help: "A tag to push (repeatable); default: the destination's tag.") var tags:
        [String] = []
    @Option(help: "Blobs uploaded at once.") var jobs = 4
    @Option(
        name: .customLong("mount-from"),
        help: ArgumentHelp("A repository of the same registry to mount blobs from.", valueName: "repo")) var mountFrom:
        String?
    @Option(
        name: .customLong("digest-file"),
        help: ArgumentHelp("Also write the pushed reference to this file.", valueName: "path")) var digestFile: String?
    @Flag(help: "Print the result as JSON.") var json = false
    @Option(help: "User name for the registry (with --password-stdin).") var username: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the registry password from stdin.") var passwordStdin = false

    // Where the deploy reads the pushed digest.
    @Option(
        name: .customLong("sam-config"),
        help: ArgumentHelp(
            "Write the digest-pinned reference into this samconfig.toml's parameter_overrides.", valueName: "file"))
    var samConfig: String?
    @Option(
        name: .customLong("config-env"), help: "The samconfig.toml environment (default: the project's, else default).")
    var configEnv: String?
    @Option(help: "The parameter to set (default: ImageUri).") var parameter: String?
    @Option(
        name: .customLong("cfn-parameters"),
        help: ArgumentHelp("Write it into this CloudFormation parameters JSON file.", valueName: "file"))
    var cfnParameters: String?
    @Option(
        name: .customLong("ecs-task-definition"),
        help: ArgumentHelp("Write it as the image of --container in this ECS task definition JSON.", valueName: "file"))
    var ecsTaskDefinition: String?
    @Option(help: "The container whose image --ecs-task-definition sets.") var container: String?

    // Amazon ECR.
    @Flag(
        name: .customLong("create-repository"),
        help: "Create a missing ECR repository (scan on push, policies/ecr-lifecycle.json).") var createRepository =
        false
    @Option(
        name: .customLong("endpoint-url"),
        help: ArgumentHelp("The ECR API endpoint (default: AWS_ENDPOINT_URL_ECR, else AWS's).", valueName: "url"))
    var endpointURL: String?
    @Option(help: "The AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, else the profile's).") var region: String?
    @Option(help: "The AWS profile (default: AWS_PROFILE, else default).") var profile: String?
    @Option(
        name: .customLong("registry-host"),
        help: ArgumentHelp(
            "The registry host for ecr:// repositories (default: ACCOUNT.dkr.ecr.REGION.amazonaws.com), e.g. a VPC endpoint.",
            valueName: "host")) var registryHost: String?

    // The ECR scan gate.
    @Flag(
        help:
            "Wait for ECR's scan of the pushed image and exit 1 on findings at or above --scan-fail-on, before any deployment file is written (ECR only)."
    ) var scan = false
    @Option(
        name: .customLong("scan-fail-on"),
        help: ArgumentHelp(
            "The lowest severity that fails the push: INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL (default: CRITICAL).",
            valueName: "severity")) var scanFailOn: String?
    @Option(
        name: .customLong("scan-timeout"),
        help: ArgumentHelp("How long to wait for the scan: 600, 90s, 15m (default: 600 s).", valueName: "duration"))
    var scanTimeout: String?
    @Option(
        name: .customLong("scan-report"),
        help: ArgumentHelp(
            "Write the scan findings to this file as SARIF 2.1.0 (for GitHub code scanning).", valueName: "file"))
    var scanReport: String?

    /// Everything a push needs, resolved from the flags.
    struct PushRequest {
        var image: StoredImage
        var store: ImageStore
        var destination: ImageReference
        var tags: [String]
        var options: PushOptions
        var credentials: any RegistryCredentialSource
        var clientOptions: RegistryClientOptions
    }

    func run() async throws {
        guard jobs >= 1 else { throw CommandFailure.usage("--jobs must be at least 1") }
        if passwordStdin && username == nil { throw CommandFailure.usage("--password-stdin needs --username") }
        if username != nil && !passwordStdin {
            throw CommandFailure.usage("--username needs --password-stdin (passwords are never taken as arguments)")
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let project = try ProjectFile.find(in: cwd)
        let store = try storeOptions.open()
        let imageName = try image ?? lastBuild(project, store: store)
        let stored = try await store.resolve(imageName)
        let targets = try DeploymentTargets(command: self, project: project, cwd: cwd)

        // Tags: every --tag, plus the project's (e.g. latest); checked before anything is uploaded.
        var tagList: [String] = []
        for tag in tags + (project?.push.tags ?? []) where !tagList.contains(tag) { tagList.append(tag) }
        let allTags = tagList
        for tag in allTags where !ImageReference.isValidTag(tag) { throw RegistryError.invalidTag(tag) }
        let password = try readPassword()
        let progress = ProgressRenderer(options: progressOptions, verb: "pushing")
        let repositoryText = repository ?? project?.push.repository
        let isECR = repositoryText.map(ECRDestination.isECR) ?? false
        // The project's push settings describe the project's repository: a --repository override drops them.
        let gate = try ScanGate(
            scan: scan, failOn: scanFailOn, timeout: scanTimeout, report: scanReport, project: project?.push.scan,
            fromProject: repository == nil && isECR, cwd: cwd, projectDirectory: project?.directory)
        if gate != nil, !isECR {
            throw CommandFailure.usage(
                "--scan reads Amazon ECR's image scan, and \(repositoryText ?? imageName) is not an ECR repository (ecr://NAME or ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME); push there, or drop --scan and scan with the registry's own tools"
            )
        }

        let result: PushResult
        if let repositoryText, isECR {
            let create = createRepository || (repository == nil && (project?.push.createRepository ?? false))
            let lifecycle = (project?.directory ?? cwd).appendingPathComponent("policies/ecr-lifecycle.json")
            result = try await AWSContext.with(
                profile: profile, region: region ?? project?.push.region, endpointURL: endpointURL
            ) { context in
                let target = try await ECRDestination.resolve(
                    repositoryText, context: context, registryHost: registryHost)
                try await target.ensureRepository(
                    context: context, create: create, lifecyclePolicy: lifecycle, progress: progressOptions)
                let destination = try ImageReference(parsing: target.reference, defaultTag: nil)
                let credentials = CredentialChain([
                    ECRCredentialSource(host: target.host, accountId: target.accountId, ecr: context.ecr),
                    baseCredentials(host: destination.registry, password: password),
                ])
                let pushed = try await push(
                    stored, store: store, to: destination, tags: allTags.isEmpty ? ["latest"] : allTags,
                    credentials: credentials, clientOptions: try registryOptions.clientOptions(preemptiveBasic: true),
                    progress: progress)
                if let gate {
                    try await gate.check(
                        reference: pushed.reference, repository: target.repositoryName,
                        digest: pushed.digest.description,
                        registryId: target.accountId, context: context, progress: progressOptions)
                }
                return pushed
            }
        } else {
            let destination = try plainDestination(repositoryText, stored: stored, imageName: imageName)
            var pushTags = allTags
            if pushTags.isEmpty { pushTags = [destination.tag ?? "latest"] }
            result = try await push(
                stored, store: store, to: destination, tags: pushTags,
                credentials: baseCredentials(host: destination.registry, password: password),
                clientOptions: try registryOptions.clientOptions(), progress: progress)
        }

        if let digestFile {
            try FileOps.atomicWrite(
                Data((result.reference + "\n").utf8), to: URL(fileURLWithPath: digestFile, relativeTo: cwd))
        }
        let changes = try targets.write(result.reference)
        for change in changes {
            progressOptions.say(
                change.modified
                    ? "wrote \(change.location) = \(result.reference) in \(change.file):\(change.line)"
                    : "\(change.file):\(change.line) already pins \(result.reference)")
        }
        if json {
            var object =
                (try JSONSerialization.jsonObject(with: try CanonicalJSON.encode(result))) as? [String: Any] ?? [:]
            object["updatedFiles"] = changes.map {
                ["file": $0.file, "line": $0.line, "location": $0.location, "modified": $0.modified]
            }
            FileHandle.standardOutput.write(
                try JSONSerialization.data(
                    withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
            FileHandle.standardOutput.write(Data("\n".utf8))
        } else {
            Output.line(result.reference)
        }
    }

    private func push(
        _ image: StoredImage, store: ImageStore, to destination: ImageReference, tags: [String],
        credentials: any RegistryCredentialSource, clientOptions: RegistryClientOptions, progress: ProgressRenderer
    ) async throws -> PushResult {
        let result = try await RegistryOptions.withClient(credentials: credentials, options: clientOptions) { client in
            try await client.push(
                image, from: store, to: destination, tags: tags, options: PushOptions(jobs: jobs, mountFrom: mountFrom),
                progress: progress)
        }
        progress.finish()
        return result
    }

    /// The project's last build, else its image name.
    private func lastBuild(_ project: ProjectFile?, store: ImageStore) throws -> String {
        guard let project else {
            throw CommandFailure.usage(
                "name the image to push: imagekit push IMAGE [--repository REGISTRY/REPO] [--tag TAG]")
        }
        if let last = store.lastBuild(ofProject: project.directory) { return last.digest }
        if let image = project.image { return image }
        throw ProjectError.noLastBuild(project: project.directory.path)
    }

    private func plainDestination(
        _ repository: String?, stored: StoredImage, imageName: String
    ) throws -> ImageReference {
        if let repository { return try ImageReference(parsing: repository, defaultTag: nil) }
        if let named = try? ImageReference(parsing: imageName), named.digest == nil,
            stored.names.contains(where: { $0.description == named.description })
        {
            return named
        }
        if let own = stored.names.first { return own }
        throw CommandFailure.usage("image \(imageName) has no name to push to; pass --repository REGISTRY/REPO")
    }

    private func readPassword() throws -> String? {
        guard username != nil, passwordStdin else { return nil }
        let input = FileHandle.standardInput.readDataToEndOfFile()
        let password = String(decoding: input, as: UTF8.self).trimmingCharacters(in: .newlines)
        guard !password.isEmpty else { throw CommandFailure.usage("--password-stdin read an empty password") }
        return password
    }

    private func baseCredentials(host: String, password: String?) -> any RegistryCredentialSource {
        guard let username, let password else { return DockerConfigCredentials() }
        return CredentialChain([
            StaticCredentials(host: host, username: username, password: password), DockerConfigCredentials(),
        ])
    }
}
