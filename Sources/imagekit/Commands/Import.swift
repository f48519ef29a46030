import Archive
import ArgumentParser
import Build
import Foundation
import OCI
import Store

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract:
            "Make a one-layer image from a root filesystem (a directory, a .tar or .tar.gz, or - for a tar on stdin).",
        discussion:
            "Like `docker import`. The layer is deterministic: the same tree gives the same digest (mtimes clamped to SOURCE_DATE_EPOCH)."
    )

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "A directory, a .tar/.tar.gz file, or - to read a tar from stdin.") var source: String
    @Option(name: .shortAndLong, help: "Name the image NAME[:TAG] (repeatable).") var tag: [String] = []
    @Option(
        name: [.short, .long], help: "Apply a Dockerfile metadata instruction, e.g. --change 'USER 1000' (repeatable).")
    var change: [String] = []
    @Option(name: .long, help: "Image format: docker (default) or oci.") var format: ImageFormat = .docker
    @Option(name: .long, help: "The history comment.") var message: String?
    @Flag(
        name: .long,
        help:
            "Also unpack the layer for builds now (as docker and podman import do), so the first build's first RUN on this image does not."
    ) var unpack = false

    func run() async throws {
        let tags = try tag.map { try ImageReference(parsing: $0) }
        var config = ImageConfig(created: nil)
        try ConfigEditor.applyChanges(change, to: &config)  // fail on a bad --change before touching anything
        var options = try LayerOptions.fromEnvironment()
        try LayerSettings.applyCompressionLevel(nil, to: &options)
        config.created = Timestamp.rfc3339(epochSeconds: options.sourceDateEpoch)

        let input = try ImportSource(source)
        let store = try storeOptions.open()
        let written = try await store.ingestLayer(options: options) { writer in
            switch input {
            case .directory(let url):
                for entry in try TreeScanner.scan(url) { try writer.add(entry) }
            case .tarFile(let url):
                let reader = try LayerReader(path: url)
                while let entry = try reader.next() { try writer.add(entry, reader: reader) }
            case .standardInput:
                let reader = try LayerReader(fileDescriptor: STDIN_FILENO)
                while let entry = try reader.next() { try writer.add(entry, reader: reader) }
            }
        }
        if unpack {
            // Extracted from the blob just written and checked against its digests, as a build would.
            _ = try LayerCache(store: store).unpacked(blob: written.digest, diffID: written.diffID)
        }
        // The source path is left out of history: the same tree gives the same digest from anywhere.
        config.appendLayer(
            diffID: written.diffID, createdBy: "imagekit import", created: config.created, comment: message)
        let layer = Descriptor(mediaType: format.layerMediaType, digest: written.digest, size: written.size)
        let image = try await store.commitImage(config: config, layers: [layer], format: format, tags: tags)
        Output.line(image.digest.description)
    }
}

/// What `imagekit import` reads, checked before the store is touched.
enum ImportSource {
    case directory(URL)
    case tarFile(URL)
    case standardInput

    init(_ text: String) throws {
        if text == "-" { self = .standardInput; return }
        let url = URL(fileURLWithPath: text)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw CommandFailure.usage(
                "\(text): no such file or directory; give a root filesystem directory, a .tar/.tar.gz file, or - for stdin"
            )
        }
        if isDir.boolValue {
            self = .directory(url)
        } else {
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw CommandFailure.usage("\(text): permission denied; make the file readable or run as its owner")
            }
            self = .tarFile(url)
        }
    }
}

extension ImageFormat: ExpressibleByArgument {}
