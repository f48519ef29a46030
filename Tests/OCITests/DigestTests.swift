import Foundation
import Testing

@testable import OCI

@Suite struct DigestTests {
    @Test func hashesKnownVector() {
        // sha256("abc") from FIPS 180-2.
        let digest = SHA256Hasher.hash(Data("abc".utf8))
        #expect(digest.description == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func hashesEmptyInput() {
        #expect(SHA256Hasher.hash(Data()).encoded == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func incrementalEqualsOneShot() {
        let bytes = Data((0..<100_000).map { UInt8($0 % 251) })
        let hasher = SHA256Hasher()
        hasher.update(bytes.prefix(7))
        hasher.update(bytes.dropFirst(7))
        #expect(hasher.finalizeDigest() == SHA256Hasher.hash(bytes))
    }

    @Test(arguments: [
        "sha256:abc", "md5:" + String(repeating: "a", count: 64), "sha256:" + String(repeating: "A", count: 64),
        "nocolon",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(throws: OCIError.invalidDigest(text)) { try Digest(parsing: text) }
    }

    @Test func roundTripsThroughJSON() throws {
        let digest = SHA256Hasher.hash(Data("x".utf8))
        let data = try JSONEncoder().encode([digest])
        #expect(try JSONDecoder().decode([Digest].self, from: data) == [digest])
    }
}
