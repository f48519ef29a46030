import Foundation

/// A mounted read-only filesystem; `release` unmounts it.
struct MountedView {
    let mount: OverlayMount
    var root: URL { mount.target }

    func release() {
        try? mount.unmount()
        CleanupRegistry.shared.removeMount(mount)
        try? FileManager.default.removeItem(at: mount.target)
    }
}
