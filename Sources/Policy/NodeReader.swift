import Foundation
import Yams

/// Typed access to YAML nodes; every failure names the node's line.
struct NodeReader {
    let file: String

    func error(_ node: Node, _ message: String) -> PolicyError {
        .invalidPolicy(file: file, line: node.mark?.line ?? 1, message: message)
    }

    func mapping(_ node: Node, allowed: [String], what: String) throws(PolicyError) -> [String: Node] {
        guard let mapping = node.mapping else { throw error(node, "\(what) should be a mapping (key: value lines)") }
        var out: [String: Node] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error(key, "keys in \(what) should be plain words") }
            guard allowed.contains(name) else {
                let close = allowed.first { $0.lowercased() == name.lowercased() }
                let hint = close.map { "did you mean `\($0)`?" } ?? "allowed keys: \(allowed.joined(separator: ", "))"
                throw error(key, "unknown key `\(name)` in \(what); \(hint)")
            }
            guard out[name] == nil else { throw error(key, "`\(name)` appears twice in \(what)") }
            out[name] = value
        }
        return out
    }

    func string(_ node: Node, what: String) throws(PolicyError) -> String {
        guard let scalar = node.scalar else {
            throw error(node, "\(what) should be a single value, not a \(node.mapping != nil ? "mapping" : "list")")
        }
        return scalar.string
    }

    func bool(_ node: Node, what: String) throws(PolicyError) -> Bool {
        guard let scalar = node.scalar, let value = Bool.construct(from: scalar) else {
            throw error(node, "\(what) should be true or false")
        }
        return value
    }

    func int(_ node: Node, what: String, range: ClosedRange<Int> = Int.min...Int.max) throws(PolicyError) -> Int {
        guard let scalar = node.scalar, let value = Int.construct(from: scalar) else {
            throw error(node, "\(what) should be a whole number")
        }
        guard range.contains(value) else {
            throw error(node, "\(what) should be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
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

    func stringList(_ node: Node, what: String) throws(PolicyError) -> [String] {
        guard let sequence = node.sequence else { throw error(node, "\(what) should be a list, e.g. [a, b]") }
        var out: [String] = []
        for item in sequence { out.append(try string(item, what: "an item of \(what)")) }
        return out
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
