import Dockerfile
import Foundation
import OCI

/// Applies Dockerfile metadata instructions to an image config (also `imagekit import --change`).
public enum ConfigEditor {
    /// `stageShell` is the shell for shell-form commands; `cmdSetInStage` implements Docker's
    /// rule that ENTRYPOINT resets a CMD inherited from the base image.
    public static func apply(
        _ instruction: Instruction, text: String, location: String, to config: inout ImageConfig,
        stageShell: inout [String], cmdSetInStage: inout Bool
    ) throws {
        switch instruction {
        case .label(let pairs):
            var labels = config.config.labels ?? [:]
            for pair in pairs { labels[pair.key.text] = pair.value.text }
            config.config.labels = labels
        case .user(let word):
            config.config.user = word.text
        case .expose(let words):
            var ports = config.config.exposedPorts ?? [:]
            for word in words {
                for key in try ExposedPort.keys(word) { ports[key] = .object([:]) }
            }
            config.config.exposedPorts = ports
        case .healthcheck(let check):
            switch check {
            case .none:
                config.config.healthcheck = Healthcheck(test: ["NONE"])
            case .check(let c):
                func ns(_ value: Int64) -> Int64? { value == 0 ? nil : value }
                config.config.healthcheck = Healthcheck(
                    test: c.test, interval: ns(c.interval), timeout: ns(c.timeout), startPeriod: ns(c.startPeriod),
                    startInterval: ns(c.startInterval), retries: c.retries == 0 ? nil : c.retries)
            }
        case .cmd(let command):
            config.config.cmd = command.arguments(shell: stageShell)
            cmdSetInStage = true
        case .entrypoint(let command):
            config.config.entrypoint = command.arguments(shell: stageShell)
            if !cmdSetInStage { config.config.cmd = nil }
        case .shell(let args):
            stageShell = args
            config.config.shell = args
        case .stopSignal(let word):
            config.config.stopSignal = word.text
        case .volume(let words):
            var volumes = config.config.volumes ?? [:]
            for word in words { volumes[word.text] = .object([:]) }
            config.config.volumes = volumes
        case .onbuild(let trigger):
            config.config.onBuild = (config.config.onBuild ?? []) + [trigger.text]
        case .maintainer(let name):
            config.author = name
        case .env(let pairs):
            for pair in pairs { config.config.setEnv(pair.key.text, pair.value.text) }
        case .workdir(let word):
            let base = config.config.workingDir ?? "/"
            config.config.workingDir =
                word.text.hasPrefix("/") ? word.text : (base.hasSuffix("/") ? base : base + "/") + word.text
        case .from, .arg, .copy, .add, .run:
            throw BuildError.instruction(
                location: location,
                message: "\(instruction.keyword.rawValue) changes files, not the config: it cannot be applied here")
        }
    }

    /// `imagekit import --change 'USER 1000'`: each change is one Dockerfile metadata instruction.
    public static func applyChanges(_ changes: [String], to config: inout ImageConfig) throws {
        for (index, change) in changes.enumerated() {
            let parsed = try DockerfileParser(file: "--change \(index + 1)").parse("FROM scratch\n" + change + "\n")
            let graph = try StageGraph(parsed)
            var scope = graph.scope(baseEnvironment: config.config.env ?? [])
            var shell = config.config.shell ?? ["/bin/sh", "-c"]
            var cmdSet = false
            for located in graph.stages[0].instructions {
                let resolved = try scope.resolve(located)
                switch resolved {
                case .copy, .add, .run, .arg, .from:
                    throw BuildError.instruction(
                        location: "--change '\(change)'",
                        message:
                            "only metadata instructions can be changed on import (ENV, LABEL, USER, WORKDIR, EXPOSE, CMD, ENTRYPOINT, HEALTHCHECK, STOPSIGNAL, VOLUME, SHELL, ONBUILD)"
                    )
                default:
                    try scope.apply(located)
                    try apply(
                        resolved, text: located.text, location: "--change", to: &config, stageShell: &shell,
                        cmdSetInStage: &cmdSet)
                }
            }
        }
    }
}
