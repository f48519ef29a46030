import Foundation
import OCI

/// Cache keys: sha256 over the parent step's key and everything the step's result depends on
/// (the instruction after expansion, the environment and args it sees, the user, the working
/// directory, and for COPY the sources' paths, modes and contents — never mtimes).
struct CacheKey {
    private var parts: [String] = []

    init(parent: Digest?, kind: String) {
        parts = ["imagekit-cache-v1", parent?.description ?? "root", kind]
    }

    mutating func add(_ label: String, _ value: String) { parts.append("\(label)=\(value)") }
    mutating func add(_ label: String, _ values: [String]) {
        parts.append("\(label)=[\(values.map { $0.debugDescription }.joined(separator: ","))]")
    }

    var digest: Digest {
        // Length-prefixed, so no two different part lists hash the same text.
        var text = ""
        for part in parts { text += "\(part.utf8.count):\(part)\n" }
        return SHA256Hasher.hash(Data(text.utf8))
    }
}
