import Archive
import Foundation
import OCI

/// The paths (and whether each is a directory) of the layers this build wrote, so that WORKDIR and
/// COPY can tell whether a directory exists without unpacking a layer just to look.
final class ProducedLayers: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [Digest: [String: Bool]] = [:]

    func record(_ diffID: Digest, _ entries: [LayerEntry]) {
        var map: [String: Bool] = [:]
        for entry in entries {
            if case .directory = entry.kind { map[entry.path] = true } else { map[entry.path] = false }
        }
        lock.withLock { paths[diffID] = map }
    }

    func paths(of diffID: Digest) -> [String: Bool]? { lock.withLock { paths[diffID] } }
}
