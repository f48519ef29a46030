/// A Docker-style image reference: `[registry[:port]/]repository[:tag][@digest]`.
/// Normalised as Docker does: `python:3.12-slim` is `docker.io/library/python:3.12-slim`.
public struct ImageReference: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let dockerHub = "docker.io"
    public static let defaultTag = "latest"

    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public init(registry: String, repository: String, tag: String? = nil, digest: Digest? = nil) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing text: String, defaultTag: String? = ImageReference.defaultTag) throws(OCIError) {
        guard !text.isEmpty else { throw .invalidReference(text, reason: "it is empty") }
        guard text.count <= 512 else { throw .invalidReference(text, reason: "it is longer than 512 characters") }
        var rest = Substring(text)
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String?
        // A colon after the last slash starts the tag; one before it belongs to a registry port.
        if let colon = rest.lastIndex(of: ":"), rest[colon...].firstIndex(of: "/") == nil {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
            guard Self.isValidTag(tag!) else { throw .invalidTag(tag!) }
        }
        var registry = Self.dockerHub
        var repository = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            if first.contains(".") || first.contains(":") || first == "localhost"
                || first.contains(where: { $0.isUppercase })
            {
                registry = String(first)
                repository = String(rest[rest.index(after: slash)...])
            }
        }
        if registry == "index.docker.io" || registry == "registry-1.docker.io" { registry = Self.dockerHub }
        guard Self.isValidRegistry(registry) else {
            throw .invalidReference(text, reason: "'\(registry)' is not a valid registry host[:port]")
        }
        if registry == Self.dockerHub && !repository.contains("/") { repository = "library/" + repository }
        guard !repository.isEmpty else { throw .invalidReference(text, reason: "the repository name is empty") }
        for component in repository.split(separator: "/", omittingEmptySubsequences: false) {
            guard Self.isValidPathComponent(component) else {
                let reason =
                    component.contains(where: { $0.isUppercase })
                    ? "repository names must be lowercase"
                    : "'\(component)' is not a valid name component (lowercase letters, digits, and . _ - between them)"
                throw .invalidReference(text, reason: reason)
            }
        }
        guard registry.count + 1 + repository.count <= 255 else {
            throw .invalidReference(text, reason: "the name is longer than 255 characters")
        }
        if tag == nil && digest == nil { tag = defaultTag }
        self.init(registry: registry, repository: repository, tag: tag, digest: digest)
    }

    /// `registry/repository`, without tag or digest.
    public var name: String { "\(registry)/\(repository)" }

    /// The full normalised form: `docker.io/library/python:3.12-slim`.
    public var description: String {
        var s = name
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    /// The short form Docker shows: `python:3.12-slim`, `localhost:5000/app:1`.
    public var familiar: String {
        var s = familiarName
        if let tag { s += ":\(tag)" }
        if let digest { s += "@\(digest)" }
        return s
    }

    public var familiarName: String {
        guard registry == Self.dockerHub else { return name }
        return repository.hasPrefix("library/") ? String(repository.dropFirst("library/".count)) : repository
    }

    public func withTag(_ tag: String) throws(OCIError) -> ImageReference {
        guard Self.isValidTag(tag) else { throw .invalidTag(tag) }
        return ImageReference(registry: registry, repository: repository, tag: tag, digest: nil)
    }

    public func withDigest(_ digest: Digest) -> ImageReference {
        ImageReference(registry: registry, repository: repository, tag: nil, digest: digest)
    }

    /// `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}` (Docker's and ECR's tag grammar).
    public static func isValidTag(_ tag: String) -> Bool {
        let bytes = Array(tag.utf8)
        guard (1...128).contains(bytes.count) else { return false }
        func word(_ b: UInt8) -> Bool {
            (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == 95
        }
        return word(bytes[0]) && bytes.dropFirst().allSatisfy { word($0) || $0 == 46 || $0 == 45 }
    }

    /// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
    static func isValidPathComponent<S: StringProtocol>(_ component: S) -> Bool {
        let bytes = Array(component.utf8)
        guard let first = bytes.first, let last = bytes.last, isAlnum(first), isAlnum(last) else { return false }
        var i = 0
        while i < bytes.count {
            if isAlnum(bytes[i]) { i += 1; continue }
            // a separator run: ".", "_", "__" or any number of "-"
            var j = i
            while j < bytes.count && !isAlnum(bytes[j]) { j += 1 }
            let sep = bytes[i..<j]
            let ok =
                sep.elementsEqual([46]) || sep.elementsEqual([95]) || sep.elementsEqual([95, 95])
                || sep.allSatisfy { $0 == 45 }
            if !ok { return false }
            i = j
        }
        return true
    }

    private static func isAlnum(_ b: UInt8) -> Bool { (b >= 48 && b <= 57) || (b >= 97 && b <= 122) }

    static func isValidRegistry(_ host: String) -> Bool {
        guard !host.isEmpty, host.count <= 255 else { return false }
        var hostPart = Substring(host)
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else { return false }
            let after = host[host.index(after: close)...]
            if after.isEmpty { return true }
            guard after.hasPrefix(":") else { return false }
            return after.dropFirst().allSatisfy(\.isNumber) && after.count > 1
        }
        if let colon = host.lastIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard !port.isEmpty, port.allSatisfy(\.isNumber), Int(port).map({ $0 > 0 && $0 < 65536 }) == true else {
                return false
            }
            hostPart = host[..<colon]
        }
        return hostPart.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
                && label.first != "-" && label.last != "-"
        }
    }
}
