import Foundation

/// <sys/xattr.h> is not part of Swift's Glibc module, so the libc functions are looked up
/// once by name; they exist in every glibc and musl.
enum XattrCall {
    typealias List = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> Int
    typealias Get = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    typealias FSet = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    typealias LSet = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32

    nonisolated(unsafe) static let llistxattr: List = unsafeBitCast(symbol("llistxattr"), to: List.self)
    nonisolated(unsafe) static let lgetxattr: Get = unsafeBitCast(symbol("lgetxattr"), to: Get.self)
    nonisolated(unsafe) static let fsetxattr: FSet = unsafeBitCast(symbol("fsetxattr"), to: FSet.self)
    nonisolated(unsafe) static let lsetxattr: LSet = unsafeBitCast(symbol("lsetxattr"), to: LSet.self)

    private static func symbol(_ name: String) -> UnsafeMutableRawPointer {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            preconditionFailure("libc has no \(name)")
        }
        return pointer
    }
}

func listXattrs(path: String) -> [String] {
    let size = XattrCall.llistxattr(path, nil, 0)
    guard size > 0 else { return [] }
    var buffer = [CChar](repeating: 0, count: size)
    let n = XattrCall.llistxattr(path, &buffer, size)
    guard n > 0 else { return [] }
    return buffer[0..<n].split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
}

func readXattr(path: String, name: String) -> [UInt8]? {
    let size = XattrCall.lgetxattr(path, name, nil, 0)
    guard size >= 0 else { return nil }
    var buffer = [UInt8](repeating: 0, count: max(size, 1))
    let n = XattrCall.lgetxattr(path, name, &buffer, buffer.count)
    guard n >= 0 else { return nil }
    return Array(buffer[0..<n])
}

/// Sets an xattr on an open file; returns errno on failure.
func setXattr(fd: Int32, name: String, value: [UInt8]) -> Int32? {
    let rc = value.withUnsafeBytes { XattrCall.fsetxattr(fd, name, $0.baseAddress, $0.count, 0) }
    return rc == 0 ? nil : errno
}

/// Sets an xattr on a path without following a final symlink; returns errno on failure.
func setXattr(path: String, name: String, value: [UInt8]) -> Int32? {
    let rc = value.withUnsafeBytes { XattrCall.lsetxattr(path, name, $0.baseAddress, $0.count, 0) }
    return rc == 0 ? nil : errno
}

/// libarchive converts names between UTF-8 and the locale's charset, and crashes converting
/// non-ASCII names under the "C" locale a process starts with. Header calls run under a
/// thread-local UTF-8 locale instead (uselocale does not touch other threads).
enum UTF8Locale {
    nonisolated(unsafe) static let handle: locale_t? =
        newlocale(Int32(1) << LC_CTYPE, "C.UTF-8", nil) ?? newlocale(Int32(1) << LC_CTYPE, "en_US.UTF-8", nil)
}

func withUTF8Locale<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    guard let locale = UTF8Locale.handle else { return try body() }
    let previous = uselocale(locale)
    defer { uselocale(previous) }
    return try body()
}

/// overlayfs's marker of an opaque directory (`trusted.` as root, `user.` with userxattr): the
/// one place that reads it, for the layer writer and the build's path lookups.
public enum OverlayOpaque {
    public static let names = ["trusted.overlay.opaque", "user.overlay.opaque"]

    /// True or false, or nil when the attributes cannot be read at all.
    public static func isOpaque(_ path: String) -> Bool? {
        for name in names {
            var value: UInt8 = 0
            let n = XattrCall.lgetxattr(path, name, &value, 1)
            if n == 1 && value == UInt8(ascii: "y") { return true }
            if n < 0 && errno != ENODATA && errno != ERANGE { return nil }
        }
        return false
    }
}
