import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Files the kernel generates (/proc/self/mounts, /proc/self/status): their size reads as 0 and
/// Foundation's file readers return only the first page of them (4 KiB of /proc/self/mounts is a
/// few dozen mounts), so they are read here until end of file.
public enum KernelFile {
    public static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count < 0 { return nil }
            if count == 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return String(decoding: data, as: UTF8.self)
    }
}
