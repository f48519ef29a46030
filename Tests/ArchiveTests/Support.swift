import Foundation
import TestSupport
import Testing

@testable import Archive

/// Runs a Python 3 script with arguments and returns its stdout; a failure fails the test.
func python(_ script: String, _ arguments: [String] = []) throws -> String {
    let result = try run("/usr/bin/env", ["python3", "-c", script] + arguments)
    #expect(result.status == 0, "python failed: \(result.stderr)")
    return result.stdout
}

/// Deterministic pseudo-random bytes (so compressed sizes are realistic but reproducible).
func pseudoRandomBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed | 1
    var out = [UInt8]()
    out.reserveCapacity(count)
    while out.count < count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        // Half random, half repetitive text, so deflate has work of both kinds.
        if (state >> 60) & 1 == 0 {
            out.append(contentsOf: withUnsafeBytes(of: state) { Array($0) })
        } else {
            out.append(contentsOf: Array("layer data \(state % 97)\n".utf8))
        }
    }
    return Array(out.prefix(count))
}

func write(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}

func setTimes(_ url: URL, seconds: Int) {
    var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
    utimensat(AT_FDCWD, url.path, &times, AT_SYMLINK_NOFOLLOW)
}

/// Writes a layer from a directory scan and returns the result.
func writeLayer(
    _ directory: URL, to output: URL, options: LayerOptions = LayerOptions(),
    scan: TreeScanner.Options = .init()
) throws -> WrittenLayer {
    let entries = try TreeScanner.scan(directory, options: scan)
    let writer = try LayerWriter(output: output, options: options)
    for entry in entries { try writer.add(entry) }
    return try writer.finish()
}

/// Sets an xattr through Python (no setfattr binary needed).
func setXattrWithPython(_ url: URL, name: String, value: String) throws {
    _ = try python(
        "import os,sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode(), follow_symlinks=False)",
        [url.path, name, value])
}
