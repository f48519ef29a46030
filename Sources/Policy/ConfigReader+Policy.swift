import ConfigFile
import Foundation
import Yams

/// The policy file's own value types, on top of the shared configuration reader.
extension ConfigReader where Failure == PolicyError {
    init(policyFile file: String) {
        self.init(file: file) { .invalidPolicy(file: $0, line: $1, message: $2) }
    }

    func size(_ node: Node, what: String) throws(PolicyError) -> Int64 {
        let text = try string(node, what: what)
        do { return try ByteSize.parse(text) } catch { throw self.error(node, "\(what): \(error.description)") }
    }

    func severity(_ node: Node, what: String) throws(PolicyError) -> Severity {
        let text = try string(node, what: what)
        guard let value = Severity(rawValue: text.lowercased()) else {
            throw error(node, "\(what) should be error, warning or info, not '\(text)'")
        }
        return value
    }

    /// `8501`, `"8501/tcp"`, `53/udp` -> `8501/tcp` (Docker's ExposedPorts keys).
    func portList(_ node: Node, what: String) throws(PolicyError) -> [String] {
        guard let sequence = node.sequence else {
            throw error(node, "\(what) should be a list of ports, e.g. [\"8501\"]")
        }
        var out: [String] = []
        for item in sequence {
            let text = try string(item, what: "an item of \(what)")
            guard let port = Ports.normalize(text) else {
                throw error(item, "'\(text)' is not a port; write 8501, 8501/tcp or 53/udp")
            }
            out.append(port)
        }
        return out
    }
}
