import Archive
import ArgumentParser
import Build
import Dockerfile
import Foundation
import OCI
import Project
import Registry
import Store

struct BuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build an image from a Dockerfile, without a Docker daemon.",
        discussion: """
            In a directory with an imagekit.yaml, plain `imagekit build` builds the project's Dockerfile and \
            context with its build args and tags the result with the project's image name; flags override the file. \
            The image digest goes to stdout, progress to stderr. RUN steps need root (runc and overlayfs).

            Registry build cache (for CI runners that start empty): --cache-to REF exports every step's result \
            (every stage's) to REF; --cache-from REF (repeatable) reuses them, downloading a cached layer only when \
            a later step must see its files. REF is REGISTRY/REPO:TAG or ecr://NAME:TAG; imagekit.yaml's \
            `build: { cache: REF }` is both. An unreadable cache is a warning; a failed export is an error after the build. \
            --no-cache reads no cache (results are still exported).
            """)

    @OptionGroup var storeOptions: StoreOptions
    @OptionGroup var progressOptions: ProgressOptions
    @OptionGroup var registryOptions: RegistryOptions
    @Option(name: .shortAndLong, help: "Name the image NAME[:TAG] (repeatable).") var tag: [String] = []
    @Option(name: .shortAndLong, help: "The Dockerfile (default: CONTEXT/Dockerfile).") var file: String?
    @Option(name: .customLong("build-arg"), help: "Set a build arg K=V (K alone takes the value from the environment).")
    var buildArgs: [String] = []
    @Option(name: .long, help: "Build up to this stage.") var target: String?
    @Option(name: .long, help: "Target platform (only linux/amd64 here).") var platform: String?
    @Flag(name: .long, help: "Do not use the build cache.") var noCache = false
    @Option(name: .long, help: "Write the image digest to this file.") var iidfile: String?
    @Option(name: .long, help: "Image format: docker (default) or oci.") var format: ImageFormat?
    @Option(
        name: .long, help: "A secret for RUN --mount=type=secret: id=ID,src=FILE or id=ID,env=VARIABLE (repeatable).")
    var secret: [String] = []
    @Option(
        name: .long, help: "An SSH agent for RUN --mount=type=ssh: default (SSH_AUTH_SOCK) or ID=SOCKET (repeatable).")
    var ssh: [String] = []
    @Option(name: .long, help: "Add a label K=V to the image (repeatable).") var label: [String] = []
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Allow an entitlement: security.insecure lets RUN --security=insecure steps run without the sandbox; network.host is accepted (RUN steps may use the host's network anyway).",
            valueName: "entitlement")) var allow: [String] = []
    @Option(
        name: .long,
        help: ArgumentHelp(
            "RUN containers and layer writers at once, over all stages (stages that do not depend on each other run concurrently); 1 runs them one at a time. Default: the number of CPUs, at least 2.",
            valueName: "n")) var jobs: Int?
    @Option(name: .long, help: "gzip level for new layers, 1 (fast) to 9 (small); default 3.") var compressionLevel:
        Int32?
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Network of RUN steps: default (the host's, no raw sockets), none (loopback only; wins over RUN --network) or host.",
            valueName: "default|none|host")) var network: RunNetwork?
    @Option(
        name: .customLong("cache-from"),
        help: ArgumentHelp("Reuse step results from this registry build cache (repeatable).", valueName: "ref"))
    var cacheFrom: [String] = []
    @Option(
        name: .customLong("cache-to"),
        help: ArgumentHelp("Export every step result to this registry build cache.", valueName: "ref")) var cacheTo:
        String?
    @Option(
        name: .customLong("cache-registry-host"),
        help: ArgumentHelp(
            "The registry host for ecr:// cache refs (default: ACCOUNT.dkr.ecr.REGION.amazonaws.com).",
            valueName: "host")) var cacheRegistryHost: String?
    @Argument(help: "The build context directory.") var context: String?

    func run() async throws {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        let project = try projectBeingBuilt(cwd: cwd)
        let contextURL: URL
        if let context {
            contextURL = URL(fileURLWithPath: context, relativeTo: cwd).standardizedFileURL
        } else if let project {
            contextURL = project.resolve(project.build.context ?? ".")
        } else {
            throw CommandFailure.usage(
                "give a build context, e.g. `imagekit build .`, or add an imagekit.yaml to this directory")
        }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: contextURL.path, isDirectory: &isDir), isDir.boolValue else {
            throw CommandFailure.usage("\(contextURL.path): the build context must be a directory")
        }
        let dockerfileURL: URL
        if let file {
            dockerfileURL = URL(fileURLWithPath: file, relativeTo: cwd).standardizedFileURL
        } else if let project, let configured = project.build.dockerfile {
            dockerfileURL = project.resolve(configured)
        } else {
            dockerfileURL = contextURL.appendingPathComponent("Dockerfile")
        }
        guard FileManager.default.fileExists(atPath: dockerfileURL.path) else {
            throw CommandFailure.usage("\(dockerfileURL.path): no Dockerfile there; pass -f PATH")
        }

        var args = project?.build.args ?? [:]
        for arg in buildArgs {
            let parts = arg.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            guard let name = parts.first, !name.isEmpty else {
                throw CommandFailure.usage("--build-arg '\(arg)': expected K=V")
            }
            if parts.count == 2 {
                args[name] = parts[1]
            } else if let value = ProcessInfo.processInfo.environment[name] {
                args[name] = value
            }
        }
        var tagTexts = tag
        if tagTexts.isEmpty, let project, let image = project.image { tagTexts = [image] + project.build.tags }
        let tags = try tagTexts.map { try ImageReference(parsing: $0) }
        let platformValue = try Platform(parsing: platform ?? project?.build.platform ?? "linux/amd64")
        var layerOptions = try LayerOptions.fromEnvironment()
        try LayerSettings.applyCompressionLevel(compressionLevel, to: &layerOptions)
        let secrets = try Self.secrets(secret, cwd: cwd)
        let agents = try Self.sshAgents(ssh, cwd: cwd)
        var labels: [String: String] = [:]
        for item in label {
            let kv = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
            labels[kv[0]] = kv.count > 1 ? kv[1] : ""
        }
        let formatValue =
            try format ?? project?.build.format.map { try ImageFormat(rawValue: $0).unwrap("build.format") } ?? .docker
        var draft = BuildRequest(
            contextDirectory: contextURL, dockerfile: dockerfileURL,
            dockerfileDisplayName: Self.displayName(dockerfileURL, context: contextURL, cwd: cwd), buildArgs: args,
            target: target ?? project?.build.target, platform: platformValue, noCache: noCache, tags: tags,
            format: formatValue, layerOptions: layerOptions, secrets: secrets, labels: labels, network: network)
        draft.sshAgents = agents
        for entitlement in allow {
            switch entitlement {
            case "security.insecure": draft.allowInsecure = true
            case "network.host": break
            default:
                throw CommandFailure.usage(
                    "--allow \(entitlement): unknown entitlement; imagekit knows security.insecure and network.host")
            }
        }
        if let jobs {
            guard jobs >= 1 else { throw CommandFailure.usage("--jobs \(jobs): give at least 1") }
            draft.jobs = jobs
        }
        let request = draft

        let store = try storeOptions.open()
        CleanupRegistry.shared.installSignalHandlers()
        let renderer = BuildRenderer(options: progressOptions)
        let baseImages = BaseImages(clientOptions: try registryOptions.clientOptions(), progress: progressOptions)
        let started = Date()
        // The project's cache goes with the project's build, as its other defaults do;
        // --no-cache ignores it. Its export failing is a warning (a laptop without access to it still
        // builds); an explicit --cache-to failing is an error, after the image is built.
        let projectCache = noCache ? nil : project?.build.cache
        let caches = CacheRefs(
            from: noCache ? [] : (cacheFrom.isEmpty ? projectCache.map { [$0] } ?? [] : cacheFrom),
            to: cacheTo ?? projectCache)
        let (result, exportFailure) = try await caches.withResolved(
            registryOptions: registryOptions, registryHost: cacheRegistryHost
        ) { (resolved: CacheRefs.Resolved) async throws -> (BuildResult, String?) in
            if let failure = resolved.failure, !caches.from.isEmpty {
                progressOptions.say(
                    "warning: the build cache \(caches.from.joined(separator: ", ")) is not usable, building without it: \(failure)"
                )
            }
            var remote: RegistryBuildCache?
            if let client = resolved.client, !resolved.from.isEmpty {
                let cache = RegistryBuildCache(client: client, store: store)
                for warning in await cache.load(resolved.from) { progressOptions.say("warning: \(warning)") }
                remote = cache
            }
            var bases = baseImages
            if let client = resolved.client, let remote { bases.registryCache = (client, remote) }
            let builder = Builder(store: store, baseImages: bases, remoteCache: remote, progress: renderer)
            let result = try await builder.build(request)
            await remote?.fetchFileLists(for: result.image)
            if let failure = resolved.failure, let to = caches.to {
                return (result, "cannot export the build cache to \(to): \(failure)")
            }
            guard let client = resolved.client, let to = resolved.to else { return (result, nil) }
            // The image is built and tagged whatever happens to the export; a failure is reported at the end.
            do {
                let document = try await RegistryCacheExport.document(for: result, store: store, imported: remote)
                let digest = try await client.pushBuildCache(document, from: store, to: to)
                progressOptions.say(
                    "exported the build cache to \(to.familiar) (\(document.records.count) records, \(digest.short))")
                return (result, nil)
            } catch {
                return (result, "cannot export the build cache to \(to.familiar): \(error)")
            }
        }
        for warning in result.warnings { progressOptions.say("warning: \(warning)") }
        let remoteNote = result.remoteCachedSteps > 0 ? ", \(result.remoteCachedSteps) from the registry cache" : ""
        progressOptions.say(
            String(
                format: "built %@ in %.2fs (%d steps, %d cached%@)", result.image.digest.short,
                Date().timeIntervalSince(started),
                result.steps, result.cachedSteps, remoteNote))
        if let iidfile {
            try FileOps.atomicWrite(
                Data(result.image.digest.description.utf8), to: URL(fileURLWithPath: iidfile, relativeTo: cwd))
        }
        if let project {
            let name = tags.first?.familiar ?? result.image.digest.description
            try store.recordLastBuild(
                LastBuild(
                    image: name, digest: result.image.digest.description,
                    builtAt: ISO8601DateFormatter().string(from: Date())),
                ofProject: project.directory)
        }
        Output.line(result.image.digest.description)
        if let exportFailure {
            if cacheTo != nil { throw CommandFailure.remote(exportFailure) }
            progressOptions.say("warning: \(exportFailure)")
        }
    }

    /// The project file, when this build is the project's own (no context argument, or the project's
    /// context); says which of its defaults apply, or that it is ignored for another context.
    private func projectBeingBuilt(cwd: URL) throws -> ProjectFile? {
        guard let project = try ProjectFile.find(in: cwd) else { return nil }
        if let context, !project.isOwnContext(URL(fileURLWithPath: context, relativeTo: cwd)) {
            progressOptions.say(
                "note: \(ProjectFile.fileName) not applied: \(context) is not this project's build context")
            return nil
        }
        let applied = project.buildDefaultsSummary
        if !applied.isEmpty { progressOptions.say("using \(ProjectFile.fileName): \(applied.joined(separator: "; "))") }
        return project
    }

    /// Docker's `--secret` forms: `id=ID,src=FILE` (or `source=`), `id=ID,env=VARIABLE`,
    /// `type=file|env` to say which a lone `src=` is, and `id=ID` alone: the variable ID when it is
    /// set, else the file ID.
    static func secrets(
        _ specs: [String], cwd: URL, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> [String: BuildSecret] {
        var secrets: [String: BuildSecret] = [:]
        for spec in specs {
            var fields: [String: String] = [:]
            for field in spec.split(separator: ",") {
                let kv = field.split(separator: "=", maxSplits: 1).map(String.init)
                guard ["id", "src", "source", "env", "type"].contains(kv[0]) else {
                    throw CommandFailure.usage(
                        "--secret '\(spec)': unknown field '\(kv[0])'; use id=ID with src=FILE or env=VARIABLE")
                }
                fields[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
            guard let id = fields["id"], !id.isEmpty else {
                throw CommandFailure.usage("--secret '\(spec)': expected id=ID,src=FILE or id=ID,env=VARIABLE")
            }
            var file = fields["src"] ?? fields["source"]
            var variable = fields["env"]
            switch fields["type"] {
            case nil, "file": break
            case "env":
                if variable == nil { (variable, file) = (file, nil) }
            case let other?:
                throw CommandFailure.usage("--secret \(id): type=\(other) is not file or env")
            }
            if file == nil, variable == nil {
                if environment[id] != nil { variable = id } else { file = id }
            }
            if let variable {
                guard let value = environment[variable] else {
                    throw CommandFailure.usage("--secret \(id): the environment variable \(variable) is not set")
                }
                secrets[id] = .value(Data(value.utf8))
            } else if let file {
                let url = URL(fileURLWithPath: file, relativeTo: cwd).standardizedFileURL
                guard FileManager.default.isReadableFile(atPath: url.path) else {
                    throw CommandFailure.usage("--secret \(id): cannot read \(file); give src=FILE or env=VARIABLE")
                }
                secrets[id] = .file(url)
            }
        }
        return secrets
    }

    /// `--ssh default` forwards $SSH_AUTH_SOCK; `--ssh ID=SOCKET` a given agent socket (Docker's forms).
    static func sshAgents(_ specs: [String], cwd: URL) throws -> [String: URL] {
        var agents: [String: URL] = [:]
        for spec in specs {
            let kv = spec.split(separator: "=", maxSplits: 1).map(String.init)
            let id = kv[0]
            let path: String
            if kv.count > 1 {
                path = kv[1]
            } else if let sock = ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"], !sock.isEmpty {
                path = sock
            } else {
                throw CommandFailure.usage(
                    "--ssh \(id): SSH_AUTH_SOCK is not set; start an agent (eval $(ssh-agent); ssh-add) or give --ssh \(id)=/path/to/agent.sock"
                )
            }
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK else {
                throw CommandFailure.usage(
                    "--ssh \(id): \(path) is not an SSH agent socket; check SSH_AUTH_SOCK or the path given")
            }
            agents[id] = URL(fileURLWithPath: path, relativeTo: cwd).standardizedFileURL
        }
        return agents
    }

    /// How errors name the Dockerfile: relative to the context (`Dockerfile:12:5`, as Docker prints it),
    /// else relative to the working directory, else its full path.
    static func displayName(_ url: URL, context: URL, cwd: URL) -> String {
        let path = url.standardizedFileURL.path
        for base in [context.standardizedFileURL.path + "/", cwd.standardizedFileURL.path + "/"]
        where path.hasPrefix(base) {
            return String(path.dropFirst(base.count))
        }
        return path
    }
}

extension RunNetwork: ExpressibleByArgument {}

extension Optional {
    func unwrap(_ what: String) throws -> Wrapped {
        guard let value = self else { throw CommandFailure.usage("invalid \(what)") }
        return value
    }
}
