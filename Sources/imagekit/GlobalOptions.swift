import ArgumentParser
import Foundation
import Store

/// Options every command takes.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The image store directory (default: $IMAGEKIT_STORE, else $XDG_DATA_HOME/imagekit or ~/.local/share/imagekit).",
            valueName: "path"))
    var store: String?

    var storeURL: URL {
        store.map { URL(fileURLWithPath: $0) } ?? ImageStore.defaultRoot()
    }

    func open() throws -> ImageStore { try ImageStore(root: storeURL) }
}

/// Progress goes to stderr, one line per event unless quiet.
struct ProgressOptions: ParsableArguments {
    enum Mode: String, ExpressibleByArgument, CaseIterable { case auto, plain, quiet }

    @Option(
        name: .long, help: "Progress output on stderr: auto (live on a terminal), plain (one line per event) or quiet.")
    var progress: Mode = .auto

    var isTerminal: Bool { isatty(STDERR_FILENO) == 1 }
    var live: Bool { progress == .auto && isTerminal }
    var quiet: Bool { progress == .quiet }

    func say(_ line: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    static func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value))
        FileHandle.standardOutput.write(Data("\n".utf8))
    }
}

/// Sizes as Docker prints them (decimal units: 1 MB = 1,000,000 bytes).
enum ByteFormat {
    static func human(_ bytes: Int64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0
            ? "\(bytes)B"
            : String(format: value < 10 ? "%.2f%@" : (value < 100 ? "%.1f%@" : "%.0f%@"), value, units[unit])
    }
}
