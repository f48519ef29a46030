import Archive
import Foundation

/// Layer settings shared by the commands that write layers.
enum LayerSettings {
    /// `--compression-level`, else `IMAGEKIT_COMPRESSION_LEVEL`, else the default (3).
    static func applyCompressionLevel(_ flag: Int32?, to options: inout LayerOptions) throws {
        guard let level = flag ?? ProcessInfo.processInfo.environment["IMAGEKIT_COMPRESSION_LEVEL"].flatMap(Int32.init)
        else { return }
        guard (1...9).contains(level) else {
            throw CommandFailure.usage("the compression level must be 1 to 9, not \(level)")
        }
        options.compressionLevel = level
    }
}
