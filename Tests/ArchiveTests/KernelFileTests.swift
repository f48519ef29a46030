import Foundation
import TestSupport
import Testing

@testable import Archive

#if canImport(Glibc)
import Glibc
#endif

/// /proc/self/mounts longer than a page: every line is read (Foundation's readers stop at 4 KiB,
/// which made a busy machine's mounts look gone).
struct KernelFileTests {
    @Test func readsAMountTableLongerThanAPage() throws {
        let scratch = try TemporaryDirectory(prefix: "imagekit-kernelfile")
        var targets: [String] = []
        defer { for target in targets.reversed() { umount2(target, Int32(MNT_DETACH)) } }
        for index in 0..<120 {
            let target = scratch.path("mount-point-with-a-long-name-so-the-table-grows-\(index)")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            try #require(mount("tmpfs", target, "tmpfs", 0, "size=4k") == 0, "mount: \(errno)")
            targets.append(target)
        }
        let text = try #require(KernelFile.read("/proc/self/mounts"))
        #expect(text.utf8.count > 8192)
        let listed = Set(
            text.split(separator: "\n").compactMap { $0.split(separator: " ").dropFirst().first }.map(String.init))
        #expect(targets.allSatisfy { listed.contains($0) })
        #expect(KernelFile.read("/proc/self/no-such-file") == nil)
    }
}
