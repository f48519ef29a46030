import CCrypto
import Foundation

/// SHA-256 and HMAC-SHA256 over OpenSSL: the two primitives SigV4 needs.
/// Kept local so this module does not depend on OCI.
enum Hashing {
    static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { buffer in
            EVP_Digest(buffer.baseAddress, buffer.count, &out, &length, EVP_sha256(), nil)
        }
        precondition(ok == 1, "OpenSSL EVP_Digest(sha256) failed")
        return Array(out.prefix(Int(length)))
    }

    static func sha256(_ data: Data) -> [UInt8] { sha256([UInt8](data)) }

    static func sha256(_ string: String) -> [UInt8] { sha256(Array(string.utf8)) }

    static func sha256Hex(_ data: Data) -> String { hex(sha256(data)) }

    static func sha256Hex(_ string: String) -> String { hex(sha256(string)) }

    static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyBuffer in
            message.withUnsafeBytes { messageBuffer in
                HMAC(EVP_sha256(),
                     keyBuffer.baseAddress, Int32(keyBuffer.count),
                     messageBuffer.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBuffer.count,
                     &out, &length)
            }
        }
        precondition(result != nil, "OpenSSL HMAC(sha256) failed")
        return Array(out.prefix(Int(length)))
    }

    static func hmacSHA256(key: [UInt8], message: String) -> [UInt8] {
        hmacSHA256(key: key, message: Array(message.utf8))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var chars = [UInt8]()
        chars.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            chars.append(digits[Int(byte >> 4)])
            chars.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: chars, as: UTF8.self)
    }

    /// SHA-256 of the empty string, the payload hash of bodiless requests.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
}
