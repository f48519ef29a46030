import ArgumentParser
import Foundation
import OCI
import Store

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write an image out: an OCI image layout (directory or .tar) or a tar for `docker load` / `podman load`.")

    enum Format: String, ExpressibleByArgument, CaseIterable { case oci, docker }

    @OptionGroup var storeOptions: StoreOptions
    @Argument(help: "Image: name[:tag], digest, or digest prefix.") var image: String
    @Option(
        name: .long,
        help: "oci: an OCI image layout (a directory, or a tar when PATH ends in .tar); docker: a docker-archive tar.")
    var format: Format = .oci
    @Option(name: .shortAndLong, help: "Where to write.") var output: String

    func run() async throws {
        let store = try storeOptions.open()
        let stored = try await store.resolve(image)
        let reference =
            (try? ImageReference(parsing: image)).flatMap { $0.digest == nil ? $0 : nil } ?? stored.names.first
        let destination = URL(fileURLWithPath: output)
        let kind: ImageExporter.Kind
        switch format {
        case .docker: kind = .dockerArchive
        case .oci: kind = output.hasSuffix(".tar") ? .ociTar : .ociDirectory
        }
        let written = try await ImageExporter(store: store).export(
            stored, as: kind, to: destination, reference: reference)
        Output.line(written.description)
    }
}
