import Archive
import Dockerfile
import Foundation
import OCI
import Store

/// Everything `imagekit build` was asked to do.
public struct BuildRequest: Sendable {
    public var contextDirectory: URL
    public var dockerfile: URL
    /// How errors name the Dockerfile (`Dockerfile`, `docker/app.Dockerfile`).
    public var dockerfileDisplayName: String
    public var buildArgs: [String: String]
    public var target: String?
    public var platform: Platform
    public var noCache: Bool
    public var tags: [ImageReference]
    public var format: ImageFormat
    public var layerOptions: LayerOptions
    /// `--secret`: by id, for RUN --mount=type=secret (a read-only file, by default
    /// /run/secrets/ID, or an environment variable with `env=`).
    public var secrets: [String: BuildSecret]
    /// `--label K=V`: added to the final image.
    public var labels: [String: String]
    /// `--network`: the network of RUN steps; `none` also wins over a step's own `--network`.
    public var network: RunNetwork?
    /// `--allow security.insecure`: RUN --security=insecure steps may run without the sandbox.
    public var allowInsecure = false
    /// `--ssh ID[=SOCKET]`: agent sockets for RUN --mount=type=ssh, by id.
    public var sshAgents: [String: URL] = [:]
    /// `--jobs`: stages built at once, and so RUN containers and layer writers at once (1 builds
    /// one stage after another). Stages that do not depend on each other run concurrently.
    public var jobs: Int = BuildRequest.defaultJobs

    /// Two even on one core: a RUN step mostly waits (downloads, disk), so a second one overlaps it.
    public static var defaultJobs: Int { max(2, ProcessInfo.processInfo.activeProcessorCount) }

    public init(
        contextDirectory: URL, dockerfile: URL, dockerfileDisplayName: String = "Dockerfile",
        buildArgs: [String: String] = [:],
        target: String? = nil, platform: Platform = .linuxAMD64, noCache: Bool = false, tags: [ImageReference] = [],
        format: ImageFormat = .docker, layerOptions: LayerOptions = LayerOptions(),
        secrets: [String: BuildSecret] = [:],
        labels: [String: String] = [:], network: RunNetwork? = nil
    ) {
        self.contextDirectory = contextDirectory
        self.dockerfile = dockerfile
        self.dockerfileDisplayName = dockerfileDisplayName
        self.buildArgs = buildArgs
        self.target = target
        self.platform = platform
        self.noCache = noCache
        self.tags = tags
        self.format = format
        self.layerOptions = layerOptions
        self.secrets = secrets
        self.labels = labels
        self.network = network
    }
}
