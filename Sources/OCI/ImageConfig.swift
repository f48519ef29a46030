import Foundation

/// The image configuration (Docker's `container.image.v1` / OCI's `image.config.v1`).
/// Modelled members are typed; every other member, at the top level and inside
/// `config`, is kept as it came and written back unchanged.
public struct ImageConfig: Sendable, Hashable, Codable {
    public var architecture: String
    public var os: String
    public var variant: String?
    public var created: String?
    public var author: String?
    public var config: ContainerConfig
    public var rootfs: RootFS
    public var history: [History]
    public var unknown: [String: JSONValue]

    public init(
        architecture: String = "amd64", os: String = "linux", created: String? = nil, config: ContainerConfig = .init(),
        rootfs: RootFS = .init(), history: [History] = []
    ) {
        self.architecture = architecture
        self.os = os
        self.created = created
        self.config = config
        self.rootfs = rootfs
        self.history = history
        self.unknown = [:]
    }

    private static let known: Set<String> = [
        "architecture", "os", "variant", "created", "author", "config", "rootfs", "history",
    ]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        architecture = try c.decodeIfPresent(String.self, forKey: AnyKey("architecture")) ?? "amd64"
        os = try c.decodeIfPresent(String.self, forKey: AnyKey("os")) ?? "linux"
        variant = try c.decodeIfPresent(String.self, forKey: AnyKey("variant"))
        created = try c.decodeIfPresent(String.self, forKey: AnyKey("created"))
        author = try c.decodeIfPresent(String.self, forKey: AnyKey("author"))
        config = try c.decodeIfPresent(ContainerConfig.self, forKey: AnyKey("config")) ?? .init()
        rootfs = try c.decodeIfPresent(RootFS.self, forKey: AnyKey("rootfs")) ?? .init()
        history = try c.decodeIfPresent([History].self, forKey: AnyKey("history")) ?? []
        var rest: [String: JSONValue] = [:]
        for key in c.allKeys where !Self.known.contains(key.stringValue) {
            rest[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
        unknown = rest
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in unknown { try c.encode(value, forKey: AnyKey(key)) }
        try c.encode(architecture, forKey: AnyKey("architecture"))
        try c.encode(os, forKey: AnyKey("os"))
        try c.encodeIfPresent(variant, forKey: AnyKey("variant"))
        try c.encodeIfPresent(created, forKey: AnyKey("created"))
        try c.encodeIfPresent(author, forKey: AnyKey("author"))
        try c.encode(config, forKey: AnyKey("config"))
        try c.encode(rootfs, forKey: AnyKey("rootfs"))
        if !history.isEmpty { try c.encode(history, forKey: AnyKey("history")) }
    }

    public static func decode(_ data: Data) throws(OCIError) -> ImageConfig {
        try CanonicalJSON.decode(ImageConfig.self, from: data, what: "image config")
    }

    public var platform: Platform { Platform(os: os, architecture: architecture, variant: variant) }

    /// Appends a layer: its diffID in rootfs and a history entry.
    public mutating func appendLayer(diffID: Digest, createdBy: String, created: String?, comment: String? = nil) {
        rootfs.diffIDs.append(diffID)
        history.append(History(created: created, createdBy: createdBy, comment: comment, emptyLayer: nil))
    }

    /// Records a metadata-only step in history, as Docker does (`empty_layer: true`).
    public mutating func appendEmptyLayerHistory(createdBy: String, created: String?) {
        history.append(History(created: created, createdBy: createdBy, comment: nil, emptyLayer: true))
    }
}

/// The runtime defaults in an image config (`config` member); Docker's capitalised keys.
public struct ContainerConfig: Sendable, Hashable, Codable {
    public var user: String?
    public var exposedPorts: [String: JSONValue]?
    public var env: [String]?
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var volumes: [String: JSONValue]?
    public var workingDir: String?
    public var labels: [String: String]?
    public var stopSignal: String?
    public var healthcheck: Healthcheck?
    public var shell: [String]?
    public var onBuild: [String]?
    public var argsEscaped: Bool?
    public var unknown: [String: JSONValue] = [:]

    public init() {}

    private static let keys: [String: String] = [
        "User": "user", "ExposedPorts": "exposedPorts", "Env": "env", "Entrypoint": "entrypoint", "Cmd": "cmd",
        "Volumes": "volumes", "WorkingDir": "workingDir", "Labels": "labels", "StopSignal": "stopSignal",
        "Healthcheck": "healthcheck", "Shell": "shell", "OnBuild": "onBuild", "ArgsEscaped": "argsEscaped",
    ]

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        func opt<T: Decodable>(_ key: String, _ type: T.Type) throws -> T? {
            try c.decodeIfPresent(type, forKey: AnyKey(key))
        }
        user = try opt("User", String.self)
        exposedPorts = try opt("ExposedPorts", [String: JSONValue].self)
        env = try opt("Env", [String].self)
        entrypoint = try opt("Entrypoint", [String].self)
        cmd = try opt("Cmd", [String].self)
        volumes = try opt("Volumes", [String: JSONValue].self)
        workingDir = try opt("WorkingDir", String.self)
        labels = try opt("Labels", [String: String].self)
        stopSignal = try opt("StopSignal", String.self)
        healthcheck = try opt("Healthcheck", Healthcheck.self)
        shell = try opt("Shell", [String].self)
        onBuild = try opt("OnBuild", [String].self)
        argsEscaped = try opt("ArgsEscaped", Bool.self)
        for key in c.allKeys where Self.keys[key.stringValue] == nil {
            unknown[key.stringValue] = try c.decode(JSONValue.self, forKey: key)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: AnyKey.self)
        for (key, value) in unknown { try c.encode(value, forKey: AnyKey(key)) }
        try c.encodeIfPresent(user, forKey: AnyKey("User"))
        try c.encodeIfPresent(exposedPorts, forKey: AnyKey("ExposedPorts"))
        try c.encodeIfPresent(env, forKey: AnyKey("Env"))
        try c.encodeIfPresent(entrypoint, forKey: AnyKey("Entrypoint"))
        try c.encodeIfPresent(cmd, forKey: AnyKey("Cmd"))
        try c.encodeIfPresent(volumes, forKey: AnyKey("Volumes"))
        try c.encodeIfPresent(workingDir, forKey: AnyKey("WorkingDir"))
        try c.encodeIfPresent(labels, forKey: AnyKey("Labels"))
        try c.encodeIfPresent(stopSignal, forKey: AnyKey("StopSignal"))
        try c.encodeIfPresent(healthcheck, forKey: AnyKey("Healthcheck"))
        try c.encodeIfPresent(shell, forKey: AnyKey("Shell"))
        try c.encodeIfPresent(onBuild, forKey: AnyKey("OnBuild"))
        try c.encodeIfPresent(argsEscaped, forKey: AnyKey("ArgsEscaped"))
    }

    /// `Env` as an ordered dictionary view: later entries win, as in a shell.
    public var environment: [(key: String, value: String)] {
        (env ?? []).map { entry in
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
    }

    /// Sets one variable, replacing an existing entry in place (Docker keeps the order of first definition).
    public mutating func setEnv(_ key: String, _ value: String) {
        var list = env ?? []
        if let index = list.firstIndex(where: { $0 == key || $0.hasPrefix(key + "=") }) {
            list[index] = "\(key)=\(value)"
        } else {
            list.append("\(key)=\(value)")
        }
        env = list
    }

    /// Exposed ports as `8501/tcp` strings, sorted.
    public var exposedPortList: [String] { (exposedPorts ?? [:]).keys.sorted() }
}

/// Docker's health check; durations in nanoseconds, as Docker stores them.
public struct Healthcheck: Sendable, Hashable, Codable {
    /// `["NONE"]`, `["CMD", args...]` or `["CMD-SHELL", command]`.
    public var test: [String]?
    public var interval: Int64?
    public var timeout: Int64?
    public var startPeriod: Int64?
    public var startInterval: Int64?
    public var retries: Int?

    enum CodingKeys: String, CodingKey {
        case test = "Test", interval = "Interval", timeout = "Timeout", startPeriod = "StartPeriod"
        case startInterval = "StartInterval", retries = "Retries"
    }

    public init(
        test: [String]?, interval: Int64? = nil, timeout: Int64? = nil, startPeriod: Int64? = nil,
        startInterval: Int64? = nil, retries: Int? = nil
    ) {
        self.test = test
        self.interval = interval
        self.timeout = timeout
        self.startPeriod = startPeriod
        self.startInterval = startInterval
        self.retries = retries
    }

    public var isDisabled: Bool { test?.first == "NONE" }
}

public struct RootFS: Sendable, Hashable, Codable {
    public var type: String
    public var diffIDs: [Digest]

    enum CodingKeys: String, CodingKey { case type, diffIDs = "diff_ids" }

    public init(type: String = "layers", diffIDs: [Digest] = []) {
        self.type = type
        self.diffIDs = diffIDs
    }
}

public struct History: Sendable, Hashable, Codable {
    public var created: String?
    public var createdBy: String?
    public var author: String?
    public var comment: String?
    public var emptyLayer: Bool?

    enum CodingKeys: String, CodingKey {
        case created, createdBy = "created_by", author, comment, emptyLayer = "empty_layer"
    }

    public init(created: String?, createdBy: String?, author: String? = nil, comment: String?, emptyLayer: Bool?) {
        self.created = created
        self.createdBy = createdBy
        self.author = author
        self.comment = comment
        self.emptyLayer = emptyLayer
    }
}
