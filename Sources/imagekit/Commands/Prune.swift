import ArgumentParser
import Build
import Foundation
import Store

struct PruneCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Delete blobs no image references, and abandoned partial writes.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Print the report as JSON.") var json = false

    func run() async throws {
        let store = try storeOptions.open()
        // Containers, mounts and work directories of builds killed with SIGKILL (running builds are left alone).
        let reaped = CleanupRegistry.reapStale(
            in: store.root.appendingPathComponent("tmp"), runcStateRoot: Builder.defaultRuncStateRoot)
        if !reaped.isEmpty {
            FileHandle.standardError.write(
                Data(
                    "reaped killed builds: \(reaped.containers) containers, \(reaped.mounts) mounts, \(reaped.directories) work directories\n"
                        .utf8))
        }
        let report = try await store.prune(waiting: {
            FileHandle.standardError.write(
                Data("waiting for other imagekit processes using this store to finish...\n".utf8))
        })
        if json { return try Output.json(report) }
        Output.line(
            "Deleted \(report.removedBlobs) blobs and \(report.removedPartialUploads) partial writes; reclaimed \(ByteFormat.human(report.reclaimedBytes))"
        )
    }
}
