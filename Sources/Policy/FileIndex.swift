import Foundation
import OCI

/// What an image path is, in the final filesystem.
public enum NodeKind: UInt8, Sendable, Codable {
    case regular = 0, directory, symlink, hardlink, characterDevice, blockDevice, fifo

    /// The `ls -l` type letter.
    var letter: Character {
        switch self {
        case .regular, .hardlink: return "-"
        case .directory: return "d"
        case .symlink: return "l"
        case .characterDevice: return "c"
        case .blockDevice: return "b"
        case .fifo: return "p"
        }
    }
}

/// One entry as a layer lists it (whiteouts included, as `.wh.` names).
public struct EntryRecord: Sendable {
    public var path: String
    public var kind: NodeKind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var linkTarget: String?

    public init(path: String, kind: NodeKind, mode: UInt32, uid: UInt32, gid: UInt32, size: Int64, linkTarget: String?)
    {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.linkTarget = linkTarget
    }
}

/// A path of the merged filesystem. Deleted paths stay as tombstones so that
/// wasted bytes can be counted the way `dive` does.
public struct FileNode: Sendable {
    public var kind: NodeKind
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var size: Int64
    public var linkTarget: String?
    /// Index of the layer that last wrote (or deleted) it.
    public var layer: Int32
    var deleted: Bool
    /// How many layers listed this path (adds, overwrites, deletions).
    var occurrences: UInt32
    /// Bytes of all those versions together.
    var cumulative: Int64
}

/// Figures for one layer, in image order.
public struct LayerFigures: Sendable, Codable {
    public var index: Int
    public var digest: String?
    public var diffID: String?
    /// The instruction that made it (config `history`, skipping `empty_layer` entries).
    public var createdBy: String?
    public var compressedSize: Int64
    public var uncompressedSize: Int64
    public var entries: Int
    /// Bytes of regular files the layer adds.
    public var fileBytes: Int64
    /// Whether the file list came from the store's cache rather than decompressing the layer.
    public var cached: Bool
}

public struct PathSize: Sendable, Codable {
    public var path: String
    public var bytes: Int64
}

/// The final filesystem of an image (whiteouts applied) plus per-layer and waste figures,
/// built in one pass over the layers in order.
public struct FileIndex: Sendable {
    /// Keys are image paths without the leading "/" ("usr/bin/python3").
    public private(set) var nodes: [String: FileNode] = [:]
    public internal(set) var layers: [LayerFigures] = []
    /// Contents of small files rules need (etc/passwd, etc/group), as the final layer left them.
    public internal(set) var captured: [String: [UInt8]] = [:]
    private var currentLayer: Int32 = -1
    /// Direct children of each directory path ("" is the root), so whiteouts visit only the
    /// subtree they remove: a whole-index scan per whiteout made crafted layers quadratic.
    /// Built at the first whiteout and kept up to date from then on: images without whiteouts
    /// (most layers) pay nothing for it.
    private var children: [String: [String]] = [:]
    private var linked: Set<String> = []
    private var childrenBuilt = false
    /// Directories an opaque marker already emptied in the current layer (markers can repeat).
    private var opaqued: Set<String> = []
    /// Nodes whiteouts visited; tests check it stays proportional to the entries.
    private(set) var whiteoutVisits = 0

    /// Paths whose contents are kept while streaming.
    public static let capturedPaths: Set<String> = ["etc/passwd", "etc/group"]

    public init() {}

    mutating func beginLayer() {
        currentLayer += 1
        opaqued.removeAll(keepingCapacity: true)
    }

    /// Room for `count` more paths, so a large layer does not rehash the table as it grows.
    mutating func reserve(_ count: Int) { nodes.reserveCapacity(nodes.count + count) }

    /// Applies one entry of the current layer (OCI whiteouts: `.wh.NAME`, `.wh..wh..opq`).
    mutating func apply(_ record: EntryRecord) {
        let path = record.path
        if path == "." || path.isEmpty { return }
        let slash = path.lastIndex(of: "/")
        let name = slash.map { path[path.index(after: $0)...] } ?? Substring(path)
        // Only whiteouts need the parent; most entries skip building it.
        if name.hasPrefix(".wh.") {
            applyWhiteout(name: name, parent: slash.map { String(path[..<$0]) } ?? "")
        } else {
            add(record)
        }
    }

    private mutating func applyWhiteout(name: Substring, parent: String) {
        if name == ".wh..wh..opq" {
            guard opaqued.insert(parent).inserted else { return }
            forEachDescendant(of: parent) { index, key, node in
                if !node.deleted && node.layer < index.currentLayer { index.markDeleted(key, addedBytes: 0) }
            }
            return
        }
        let target = (parent.isEmpty ? "" : parent + "/") + name.dropFirst(4)
        guard let existing = nodes[target], !existing.deleted, existing.layer < currentLayer else { return }
        var bytes: Int64 = 0
        if existing.kind == .directory {
            // A deleted directory takes what it held with it; dive counts those bytes on the directory.
            forEachDescendant(of: target) { index, key, node in
                guard !node.deleted else { return }
                bytes = bytes.addingSaturating(node.size)
                index.nodes[key]?.deleted = true
                index.nodes[key]?.layer = index.currentLayer
            }
        }
        markDeleted(target, addedBytes: bytes)
        captured.removeValue(forKey: target)
    }

    /// Records `path` under its parent, and the parent under its own, up to the first one
    /// already recorded (a layer may list "a/b" without ever listing "a").
    private mutating func link(_ path: String) {
        var child = path
        while linked.insert(child).inserted {
            let parent = child.lastIndex(of: "/").map { String(child[..<$0]) } ?? ""
            children[parent, default: []].append(child)
            if parent.isEmpty { return }
            child = parent
        }
    }

    /// Visits every path below `directory` (not the directory itself), depth first.
    private mutating func forEachDescendant(of directory: String, _ body: (inout FileIndex, String, FileNode) -> Void) {
        if !childrenBuilt {
            childrenBuilt = true
            for key in nodes.keys { link(key) }
        }
        var pending = children[directory] ?? []
        while let key = pending.popLast() {
            whiteoutVisits += 1
            if let node = nodes[key] { body(&self, key, node) }
            if let below = children[key] { pending.append(contentsOf: below) }
        }
    }

    private mutating func add(_ record: EntryRecord) {
        let path = record.path
        if var node = nodes[path] {
            node.occurrences += 1
            node.cumulative = node.cumulative.addingSaturating(record.size)
            node.kind = record.kind
            node.mode = record.mode
            node.uid = record.uid
            node.gid = record.gid
            node.size = record.size
            node.linkTarget = record.linkTarget
            node.layer = currentLayer
            node.deleted = false
            nodes[path] = node
        } else {
            if childrenBuilt { link(path) }
            nodes[path] = FileNode(
                kind: record.kind, mode: record.mode, uid: record.uid, gid: record.gid, size: record.size,
                linkTarget: record.linkTarget, layer: currentLayer, deleted: false, occurrences: 1,
                cumulative: record.size)
        }
    }

    private mutating func markDeleted(_ key: String, addedBytes: Int64) {
        guard var node = nodes[key] else { return }
        node.deleted = true
        node.occurrences += 1
        node.cumulative = node.cumulative.addingSaturating(addedBytes)
        node.layer = currentLayer
        nodes[key] = node
    }

    mutating func capture(_ path: String, _ bytes: [UInt8]) { captured[path] = bytes }

    // MARK: Queries

    /// A live node at an exact path ("/etc/passwd" or "etc/passwd"), without following symlinks.
    public func node(at path: String) -> FileNode? {
        let key = Self.key(path)
        if key.isEmpty {
            return FileNode(
                kind: .directory, mode: 0o755, uid: 0, gid: 0, size: 0, linkTarget: nil, layer: 0, deleted: false,
                occurrences: 1, cumulative: 0)
        }
        guard let node = nodes[key], !node.deleted else { return nil }
        return node
    }

    /// Follows symlinks in every component, inside the image (an absolute target restarts at the
    /// image root, never the host's). Nil when the path does not exist or links loop.
    /// `implicitDirectories`: a path no layer listed but with files below it counts as a directory.
    public func resolve(_ path: String, implicitDirectories: Bool = true) -> (path: String, node: FileNode)? {
        var pending = Array(Self.key(path).split(separator: "/").map(String.init).reversed())
        var resolved: [String] = []
        var hops = 0
        while let component = pending.popLast() {
            if component == "." || component.isEmpty { continue }
            if component == ".." { _ = resolved.popLast(); continue }
            let candidate = (resolved + [component]).joined(separator: "/")
            if let node = node(at: candidate), node.kind == .symlink, let target = node.linkTarget {
                hops += 1
                if hops > 40 { return nil }
                if target.hasPrefix("/") { resolved = [] }
                pending.append(contentsOf: target.split(separator: "/").map(String.init).reversed())
                continue
            }
            resolved.append(component)
        }
        let final = resolved.joined(separator: "/")
        guard let node = node(at: final) else {
            // A directory never listed itself but holding files is still a directory.
            if implicitDirectories,
                nodes.keys.contains(where: { $0.hasPrefix(final + "/") && !(nodes[$0]?.deleted ?? true) })
            {
                return (
                    "/" + final,
                    FileNode(
                        kind: .directory, mode: 0o755, uid: 0, gid: 0, size: 0, linkTarget: nil, layer: 0,
                        deleted: false, occurrences: 1, cumulative: 0)
                )
            }
            return nil
        }
        return ("/" + final, node)
    }

    /// Live paths and nodes (order unspecified).
    public var liveNodes: some Sequence<(key: String, value: FileNode)> {
        nodes.lazy.filter { !$0.value.deleted }
    }

    public var fileCount: Int { nodes.values.reduce(0) { $0 + ($1.deleted ? 0 : 1) } }

    /// Bytes in layers that never reach the final filesystem, as `dive` counts them: for every
    /// path listed by more than one layer (overwritten or deleted later), the sizes of all its versions.
    public var wastedBytes: Int64 {
        nodes.values.reduce(0) { $0.addingSaturating($1.occurrences > 1 ? $1.cumulative : 0) }
    }

    public func largestWaste(_ count: Int) -> [PathSize] {
        var top: [PathSize] = []
        for (key, node) in nodes where node.occurrences > 1 && node.cumulative > 0 {
            Self.insert(PathSize(path: "/" + key, bytes: node.cumulative), into: &top, keeping: count)
        }
        return top
    }

    /// Directories by the total size of the regular files below them (final filesystem).
    public func largestDirectories(_ count: Int) -> [PathSize] {
        var totals: [Substring: Int64] = [:]
        for (key, node) in nodes where !node.deleted && node.kind == .regular && node.size > 0 {
            var index = key.endIndex
            while let slash = key[..<index].lastIndex(of: "/") {
                totals[key[..<slash], default: 0] = totals[key[..<slash], default: 0].addingSaturating(node.size)
                index = slash
            }
        }
        var top: [PathSize] = []
        for (dir, bytes) in totals { Self.insert(PathSize(path: "/" + dir, bytes: bytes), into: &top, keeping: count) }
        return top
    }

    private static func insert(_ item: PathSize, into top: inout [PathSize], keeping count: Int) {
        guard count > 0 else { return }
        if top.count == count, let last = top.last, (last.bytes, item.path) >= (item.bytes, last.path) { return }
        let position = top.firstIndex { ($0.bytes, item.path) < (item.bytes, $0.path) } ?? top.endIndex
        top.insert(item, at: position)
        if top.count > count { top.removeLast() }
    }

    static func key(_ path: String) -> String {
        var key = Substring(path)
        while key.hasPrefix("/") { key = key.dropFirst() }
        while key.hasPrefix("./") { key = key.dropFirst(2) }
        while key.hasSuffix("/") { key = key.dropLast() }
        return key == "." ? "" : String(key)
    }
}

/// `drwxr-xr-x` / `-rwsr-xr-x` / `0755` parsing and printing (type letter optional).
public enum FilePermissions {
    /// Returns (type letter or nil, permission bits including setuid/setgid/sticky).
    public static func parse(_ text: String) -> (type: Character?, bits: UInt32)? {
        if let first = text.first, first.isNumber {
            guard text.count <= 5, let value = UInt32(text, radix: 8), value <= 0o7777 else { return nil }
            return (nil, value)
        }
        var chars = Array(text)
        var type: Character?
        if chars.count == 10 {
            type = chars.removeFirst()
            guard "-dlcbps".contains(type!) else { return nil }
        }
        guard chars.count == 9 else { return nil }
        var bits: UInt32 = 0
        let specials: [(exec: UInt32, special: UInt32, upper: Character, lower: Character)] = [
            (0o100, 0o4000, "S", "s"), (0o010, 0o2000, "S", "s"), (0o001, 0o1000, "T", "t"),
        ]
        for group in 0..<3 {
            let r = chars[group * 3], w = chars[group * 3 + 1], x = chars[group * 3 + 2]
            let shift = UInt32(6 - group * 3)
            switch r {
            case "r": bits |= 4 << shift;
            case "-": break;
            default: return nil
            }
            switch w {
            case "w": bits |= 2 << shift;
            case "-": break;
            default: return nil
            }
            let s = specials[group]
            switch x {
            case "x": bits |= 1 << shift
            case "-": break
            case s.lower: bits |= (1 << shift) | s.special
            case s.upper: bits |= s.special
            default: return nil
            }
        }
        return (type, bits)
    }

    public static func string(kind: NodeKind, mode: UInt32) -> String {
        var out = String(kind.letter)
        let specials: [(UInt32, Character, Character)] = [(0o4000, "s", "S"), (0o2000, "s", "S"), (0o1000, "t", "T")]
        for group in 0..<3 {
            let shift = UInt32(6 - group * 3)
            out.append(mode & (4 << shift) != 0 ? "r" : "-")
            out.append(mode & (2 << shift) != 0 ? "w" : "-")
            let exec = mode & (1 << shift) != 0
            let (bit, lower, upper) = specials[group]
            if mode & bit != 0 { out.append(exec ? lower : upper) } else { out.append(exec ? "x" : "-") }
        }
        return out
    }
}
