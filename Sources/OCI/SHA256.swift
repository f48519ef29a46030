import CCrypto
import Foundation

/// SHA-256 (incremental, over OpenSSL's EVP interface, which uses SHA-NI where the CPU has it)
/// and HMAC-SHA256: the project's one wrapper of libcrypto's hashing, used for digests and SigV4.
/// A class because the EVP context is a resource; not shared between tasks.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else {
            fatalError("OpenSSL could not allocate a digest context (out of memory)")
        }
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        context = ctx
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        EVP_DigestUpdate(context, base, buffer.count)
    }

    public func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the hash; the hasher must not be used afterwards.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return out
    }

    public func finalizeDigest() -> Digest {
        Digest(algorithm: "sha256", encoded: Self.hex(finalize()))
    }

    public static func hash(_ data: Data) -> Digest {
        let hasher = SHA256Hasher()
        hasher.update(data)
        return hasher.finalizeDigest()
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// SHA-256 of a string's UTF-8 bytes, as lowercase hex.
    public static func hex(of text: String) -> String { hash(Data(text.utf8)).encoded }

    /// HMAC-SHA256 (RFC 2104) of `message` under `key`.
    public static func hmac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBuffer in
            message.withUnsafeBytes { messageBuffer in
                HMAC(
                    EVP_sha256(),
                    keyBuffer.baseAddress, Int32(keyBuffer.count),
                    messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count,
                    &out, &length)
            }
        }
        precondition(result != nil, "OpenSSL HMAC(sha256) failed")
        return Array(out.prefix(Int(length)))
    }

    public static func hmac(key: [UInt8], message: String) -> [UInt8] { hmac(key: key, message: Array(message.utf8)) }
}
