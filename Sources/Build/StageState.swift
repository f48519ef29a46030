import Dockerfile
import Foundation
import OCI

/// A stage while it is being built: the image config so far, its layers, its variables.
struct StageState {
    var config: ImageConfig
    var layers: [Descriptor]
    var scope: VariableScope
    var shell: [String] = ["/bin/sh", "-c"]
    /// Key of the filesystem state so far (the chain of layer-producing steps).
    var cacheKey: Digest
    var cmdSetInStage = false
    /// The stage's index in the Dockerfile.
    var stageIndex = 0
    /// The base image's ONBUILD triggers, run right after FROM (the stage's image keeps none).
    var baseTriggers: [String] = []

    var workdir: String { config.config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/" }
    var user: String { config.config.user ?? "" }
}

/// A finished stage, for FROM <stage> and COPY --from=<stage>.
struct StageResult {
    var config: ImageConfig
    var layers: [Descriptor]
    var cacheKey: Digest
    var shell: [String]
}
