import ArgumentParser
import Deploy
import Foundation
import OCI
import Project
import Registry
import Store

/// The files a push writes the digest-pinned reference into: the SAM config's parameter,
/// a CloudFormation parameters file, an ECS task definition. Checked before the push.
struct DeploymentTargets {
    var sam: (path: String, env: String, parameter: String)?
    var cloudFormation: (path: String, parameter: String)?
    var taskDefinition: (path: String, container: String)?

    init(command: PushCommand, project: ProjectFile?, cwd: URL) throws {
        let parameter = command.parameter ?? "ImageUri"
        if let path = command.samConfig {
            sam = (
                URL(fileURLWithPath: path, relativeTo: cwd).path,
                command.configEnv ?? project?.push.sam?.env ?? "default", parameter
            )
        } else if command.repository == nil, command.cfnParameters == nil, command.ecsTaskDefinition == nil,
            let configured = project?.push.sam, let project
        {
            sam = (
                project.resolve(configured.config).path, command.configEnv ?? configured.env,
                command.parameter ?? configured.parameter
            )
        } else if command.configEnv != nil {
            throw CommandFailure.usage("--config-env goes with --sam-config FILE")
        }
        if let path = command.cfnParameters ?? project.flatMap({ p in p.push.cfnParameters.map { p.resolve($0).path } })
        {
            cloudFormation = (
                URL(fileURLWithPath: path, relativeTo: cwd).path,
                command.parameter ?? project?.push.cfnParameter ?? "ImageUri"
            )
        }
        if let path = command.ecsTaskDefinition
            ?? project.flatMap({ p in p.push.ecsTaskDefinition.map { p.resolve($0).path } })
        {
            guard let container = command.container ?? project?.push.container else {
                throw CommandFailure.usage(
                    "--ecs-task-definition needs --container NAME (the container whose image to set)")
            }
            taskDefinition = (URL(fileURLWithPath: path, relativeTo: cwd).path, container)
        }
    }

    func write(_ reference: String) throws -> [DeployChange] {
        var changes: [DeployChange] = []
        if let sam {
            changes.append(
                try SAMConfigEditor(path: sam.path, environment: sam.env).setParameter(sam.parameter, to: reference))
        }
        if let cloudFormation {
            changes.append(
                try CloudFormationParameters(path: cloudFormation.path).setParameter(
                    cloudFormation.parameter, to: reference))
        }
        if let taskDefinition {
            changes.append(
                try ECSTaskDefinition(path: taskDefinition.path).setImage(
                    reference, container: taskDefinition.container))
        }
        return changes
    }
}
