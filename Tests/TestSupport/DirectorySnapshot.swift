import Foundation

/// Every entry below a directory with its type, mode, size and a hash of its bytes (or its
/// link target): two equal snapshots mean nothing there was added, removed or changed.
public func directorySnapshot(_ root: URL) -> [String: String] {
    var result: [String: String] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root.path) else { return result }
    while let relative = walker.nextObject() as? String {
        let path = root.appendingPathComponent(relative).path
        var st = stat()
        guard lstat(path, &st) == 0 else { continue }
        var line = "\(String(st.st_mode, radix: 8)) \(st.st_size)"
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            let data = FileManager.default.contents(atPath: path) ?? Data()
            var hash: UInt64 = 0xcbf29ce484222325  // FNV-1a: enough to see a change
            for byte in data { hash = (hash ^ UInt64(byte)) &* 0x100000001b3 }
            line += " \(String(hash, radix: 16))"
        case S_IFLNK:
            line += " -> \((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "?")"
        default: break
        }
        result[relative] = line
    }
    return result
}
