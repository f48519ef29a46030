import ArgumentParser
import Store

struct RmiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rmi", abstract: "Remove images (tags); `imagekit prune` frees their blobs.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: [.short, .long], help: "Remove an image given by digest even when it has several tags.") var force =
        false
    @Argument(help: "Images: name[:tag], digest, or digest prefix.") var images: [String]

    func validate() throws {
        if images.isEmpty { throw ValidationError("give at least one image to remove") }
    }

    func run() async throws {
        let store = try storeOptions.open()
        for image in images {
            let result = try await store.remove(image, force: force)
            result.untagged.forEach { Output.line("Untagged: \($0)") }
            if let deleted = result.deleted { Output.line("Deleted: \(deleted)") }
        }
    }
}
