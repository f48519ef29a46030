import Foundation
import Yams

/// Typed access to the YAML nodes of one of imagekit's configuration files (a policy, the project
/// file). Every failure names the file and the node's line, and reaches the caller as the caller's
/// own error type (`failure` builds it), so each module keeps its error type and exit code.
public struct ConfigReader<Failure: Error>: Sendable {
    public let file: String
    private let failure: @Sendable (_ file: String, _ line: Int, _ message: String) -> Failure

    public init(file: String, failure: @escaping @Sendable (_ file: String, _ line: Int, _ message: String) -> Failure)
    {
        self.file = file
        self.failure = failure
    }

    /// The error for `node`, at its line (1 when the parser gave none).
    public func error(_ node: Node, _ message: String) -> Failure {
        failure(file, node.mark?.line ?? 1, message)
    }

    /// A mapping whose keys are all in `allowed`, each once; an unknown key gets a "did you mean"
    /// when it differs from an allowed one only in case.
    public func mapping(_ node: Node, allowed: [String], what: String) throws(Failure) -> [String: Node] {
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

    /// A single value. A key with nothing after it (`image:`) is YAML's null, not an empty string:
    /// it is refused, as a forgotten value usually is a mistake; `image: ""` is an empty string.
    public func string(_ node: Node, what: String) throws(Failure) -> String {
        guard let scalar = node.scalar else {
            throw error(node, "\(what) should be a single value, not a \(node.mapping != nil ? "mapping" : "list")")
        }
        guard node.tag.description != Tag.Name.null.rawValue, !scalar.string.isEmpty || scalar.style != .plain else {
            throw error(node, "\(what) has no value; write one after the colon (\"\" for an empty string)")
        }
        return scalar.string
    }

    public func bool(_ node: Node, what: String) throws(Failure) -> Bool {
        guard let scalar = node.scalar, let value = Bool.construct(from: scalar) else {
            throw error(node, "\(what) should be true or false")
        }
        return value
    }

    public func int(_ node: Node, what: String, range: ClosedRange<Int> = Int.min...Int.max) throws(Failure) -> Int {
        guard let scalar = node.scalar, let value = Int.construct(from: scalar) else {
            throw error(node, "\(what) should be a whole number")
        }
        guard range.contains(value) else {
            throw error(node, "\(what) should be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }

    /// One of `values`, spelled exactly.
    public func oneOf(_ node: Node, what: String, _ values: [String]) throws(Failure) -> String {
        let value = try string(node, what: what)
        guard values.contains(value) else {
            throw error(node, "\(what) should be one of \(values.joined(separator: ", ")), not '\(value)'")
        }
        return value
    }

    public func stringList(_ node: Node, what: String) throws(Failure) -> [String] {
        guard let sequence = node.sequence else { throw error(node, "\(what) should be a list, e.g. [a, b]") }
        var out: [String] = []
        for item in sequence { out.append(try string(item, what: "an item of \(what)")) }
        return out
    }

    /// A mapping of names to single values (build args, labels).
    public func stringMap(_ node: Node, what: String) throws(Failure) -> [String: String] {
        guard let mapping = node.mapping else { throw error(node, "\(what) should be a mapping (key: value lines)") }
        var out: [String: String] = [:]
        for (key, value) in mapping {
            guard let name = key.scalar?.string else { throw error(key, "keys in \(what) should be plain words") }
            guard let scalar = value.scalar else { throw error(value, "\(what).\(name) should be a single value") }
            out[name] = scalar.string
        }
        return out
    }
}
