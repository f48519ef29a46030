import Foundation
import Yams

/// Reads Yams nodes with errors that name the file and line.
struct NodeReader {
    let file: String

    func line(_ node: Node) -> Int { node.mark?.line ?? 1 }

    func mapping(_ node: Node, allowed: Set<String>, what: String) throws(ProjectError) -> [String: Node] {
        guard case .mapping(let mapping) = node else {
            throw .invalid(file: file, line: line(node), message: "\(what) must be a mapping of keys to values")
        }
        var result: [String: Node] = [:]
        for (keyNode, value) in mapping {
            guard let key = keyNode.string else {
                throw .invalid(file: file, line: line(keyNode), message: "keys must be strings")
            }
            guard allowed.contains(key) else {
                throw .invalid(
                    file: file, line: line(keyNode),
                    message:
                        "unknown key '\(key)' in \(what); expected one of: \(allowed.sorted().joined(separator: ", "))")
            }
            if result[key] != nil {
                throw .invalid(file: file, line: line(keyNode), message: "'\(key)' appears twice in \(what)")
            }
            result[key] = value
        }
        return result
    }

    func string(_ node: Node, key: String) throws(ProjectError) -> String {
        guard case .scalar(let scalar) = node, node.tag.description != Tag.Name.null.rawValue,
            !scalar.string.isEmpty || scalar.style != .plain
        else {
            throw .invalid(file: file, line: line(node), message: "'\(key)' must be a string")
        }
        return scalar.string
    }

    func bool(_ node: Node, key: String) throws(ProjectError) -> Bool {
        guard case .scalar = node, let value = node.bool else {
            throw .invalid(file: file, line: line(node), message: "'\(key)' must be true or false")
        }
        return value
    }

    func duration(_ node: Node, key: String) throws(ProjectError) -> Int {
        let text = try string(node, key: key)
        guard let seconds = ProjectFile.Scan.seconds(text) else {
            throw .invalid(
                file: file, line: line(node),
                message: "'\(key)' must be a duration such as 600, 90s or 15m, not '\(text)'")
        }
        return seconds
    }

    func oneOf(_ node: Node, key: String, _ values: [String]) throws(ProjectError) -> String {
        let value = try string(node, key: key)
        guard values.contains(value) else {
            throw .invalid(
                file: file, line: line(node),
                message: "'\(key)' must be one of \(values.joined(separator: ", ")), not '\(value)'")
        }
        return value
    }

    func stringList(_ node: Node, key: String) throws(ProjectError) -> [String] {
        guard case .sequence(let sequence) = node else {
            throw .invalid(file: file, line: line(node), message: "'\(key)' must be a list")
        }
        var out: [String] = []
        for item in sequence { out.append(try string(item, key: "\(key)[]")) }
        return out
    }

    func stringMap(_ node: Node, key: String) throws(ProjectError) -> [String: String] {
        guard case .mapping(let mapping) = node else {
            throw .invalid(file: file, line: line(node), message: "'\(key)' must be a mapping")
        }
        var out: [String: String] = [:]
        for (k, v) in mapping {
            guard let name = k.string else {
                throw .invalid(file: file, line: line(k), message: "keys of '\(key)' must be strings")
            }
            guard case .scalar(let scalar) = v else {
                throw .invalid(file: file, line: line(v), message: "'\(key).\(name)' must be a single value")
            }
            out[name] = scalar.string
        }
        return out
    }
}
