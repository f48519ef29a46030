import Foundation

/// A SARIF 2.1.0 log of one imagekit run about one image, in the shape GitHub code scanning
/// reads. `verify --format sarif` and `push --scan-report` both write it.
public struct SARIFLog {
    public struct Rule {
        public var id: String
        public var name: String
        public var summary: String
        public var help: String
        public var level: String
        public var helpURI: String?
        /// e.g. "security-severity" and "tags", which code scanning ranks and filters alerts by.
        public var properties: [String: Any]

        public init(
            id: String, name: String, summary: String, help: String, level: String, helpURI: String? = nil,
            properties: [String: Any] = [:]
        ) {
            self.id = id
            self.name = name
            self.summary = summary
            self.help = help
            self.level = level
            self.helpURI = helpURI
            self.properties = properties
        }
    }

    public struct Result {
        public var ruleId: String
        public var ruleIndex: Int
        public var level: String
        public var message: String
        /// A path or package inside the image.
        public var logicalLocation: String?
        /// Set when the result was accepted on purpose; the text says why.
        public var suppression: String?

        public init(
            ruleId: String, ruleIndex: Int, level: String, message: String, logicalLocation: String? = nil,
            suppression: String? = nil
        ) {
            self.ruleId = ruleId
            self.ruleIndex = ruleIndex
            self.level = level
            self.message = message
            self.logicalLocation = logicalLocation
            self.suppression = suppression
        }
    }

    public var toolVersion: String
    /// The image reference, the artifact every result points at.
    public var image: String
    public var rules: [Rule]
    public var results: [Result]
    public var exitCode: Int
    public var exitCodeDescription: String?
    public var properties: [String: Any]

    public init(
        toolVersion: String, image: String, rules: [Rule], results: [Result], exitCode: Int,
        exitCodeDescription: String? = nil, properties: [String: Any] = [:]
    ) {
        self.toolVersion = toolVersion
        self.image = image
        self.rules = rules
        self.results = results
        self.exitCode = exitCode
        self.exitCodeDescription = exitCodeDescription
        self.properties = properties
    }

    public func data() throws -> Data {
        let uri = Self.artifactURI(image)
        let rules: [[String: Any]] = rules.map { rule in
            var object: [String: Any] = [
                "id": rule.id,
                "name": rule.name,
                "shortDescription": ["text": rule.summary],
                "fullDescription": ["text": rule.summary],
                "help": ["text": rule.help],
                "defaultConfiguration": ["level": rule.level, "enabled": true],
            ]
            if let helpURI = rule.helpURI { object["helpUri"] = helpURI }
            if !rule.properties.isEmpty { object["properties"] = rule.properties }
            return object
        }
        let results: [[String: Any]] = results.map { r in
            var location: [String: Any] = ["physicalLocation": ["artifactLocation": ["uri": uri]]]
            if let path = r.logicalLocation {
                location["logicalLocations"] = [["fullyQualifiedName": path, "kind": "resource"]]
            }
            var result: [String: Any] = [
                "ruleId": r.ruleId,
                "ruleIndex": r.ruleIndex,
                "level": r.level,
                "message": ["text": r.message],
                "locations": [location],
            ]
            if let reason = r.suppression {
                result["suppressions"] = [["kind": "external", "status": "accepted", "justification": reason]]
            }
            return result
        }
        var invocation: [String: Any] = ["executionSuccessful": true, "exitCode": exitCode]
        if let exitCodeDescription { invocation["exitCodeDescription"] = exitCodeDescription }
        let run: [String: Any] = [
            "tool": ["driver": ["name": "imagekit", "version": toolVersion, "rules": rules]],
            "results": results,
            "invocations": [invocation],
            "artifacts": [["location": ["uri": uri], "roles": ["analysisTarget"]]],
            "properties": properties,
        ]
        let log: [String: Any] = [
            "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
            "version": "2.1.0",
            "runs": [run],
        ]
        return try JSONSerialization.data(
            withJSONObject: log, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) + Data("\n".utf8)
    }

    /// The image reference as a URI reference (spaces and other unsafe characters escaped).
    static func artifactURI(_ reference: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.insert(charactersIn: ":@")
        return reference.addingPercentEncoding(withAllowedCharacters: allowed) ?? reference
    }
}
