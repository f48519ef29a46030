import ArgumentParser
import Foundation
import Store

struct ImagesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "images", abstract: "List the images in the store.",
        discussion: "SIZE is uncompressed (what `docker images` shows); COMPRESSED is what a registry stores.")

    @OptionGroup var storeOptions: StoreOptions
    @Flag(name: .long, help: "Print JSON instead of a table.") var json = false
    @Flag(name: [.short, .long], help: "Print only digests.") var quiet = false
    @Flag(name: .long, help: "Show full digests.") var noTrunc = false

    func run() async throws {
        let rows = try await storeOptions.open().summaries()
        if json { return try Output.json(rows) }
        if quiet {
            return Set(rows.map(\.digest)).sorted().forEach { Output.line(noTrunc ? $0.description : $0.short) }
        }
        var table = [["NAME", "TAG", "DIGEST", "SIZE", "COMPRESSED", "CREATED"]]
        for row in rows {
            table.append([
                row.name ?? "<none>", row.tag ?? "<none>", noTrunc ? row.digest.description : row.digest.short,
                ByteFormat.human(row.uncompressedSize), ByteFormat.human(row.compressedSize), row.created ?? "-",
            ])
        }
        let widths = (0..<table[0].count).map { column in table.map { $0[column].count }.max() ?? 0 }
        for row in table {
            Output.line(
                zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "   ")
                    .trimmingCharacters(in: .whitespaces))
        }
    }
}
