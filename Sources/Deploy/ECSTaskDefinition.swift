import Foundation

/// Sets the `image` of one container in an ECS task definition JSON file: a `register-task-definition`
/// input (`{"family": ..., "containerDefinitions": [...]}`), the output of `aws ecs describe-task-definition`
/// (`{"taskDefinition": {...}}`), or a bare `containerDefinitions` list.
/// Only the image value's bytes change; key order and formatting stay as written.
public struct ECSTaskDefinition: Sendable {
    public var path: String

    public init(path: String) {
        self.path = path
    }

    @discardableResult
    public func setImage(_ image: String, container: String) throws -> DeployChange {
        guard let original = try AtomicFile.load(path) else {
            throw DeployError.read(
                file: path,
                detail:
                    "no such file; export it with `aws ecs describe-task-definition --task-definition NAME > \(path)`")
        }
        let (text, change) = try Self.edit(original, fileName: path, container: container, image: image)
        if change.modified { try AtomicFile.save(text, to: path) }
        return change
    }

    /// The edit without touching the disk.
    public static func edit(
        _ text: String, fileName: String = "task-definition.json", container: String,
        image: String
    ) throws -> (text: String, change: DeployChange) {
        let scanner = try JSONScanner(text: text, fileName: fileName)
        let definitions: JSONScanner.Value
        if scanner.root.elements != nil {
            definitions = scanner.root
        } else if let direct = scanner.root.member("containerDefinitions") {
            definitions = direct.value
        } else if let wrapped = scanner.root.member("taskDefinition")?.value.member("containerDefinitions") {
            definitions = wrapped.value
        } else {
            throw DeployError.unsupported(
                file: fileName, line: 1,
                message:
                    "no \"containerDefinitions\" (nor \"taskDefinition\".\"containerDefinitions\"): expected an ECS task definition"
            )
        }
        guard let elements = definitions.elements else {
            throw scanner.error("\"containerDefinitions\" must be a list", at: definitions.start)
        }
        let names = elements.compactMap { $0.member("name")?.value.string }
        guard let entry = elements.first(where: { $0.member("name")?.value.string == container }) else {
            throw DeployError.containerNotFound(file: fileName, name: container, available: names)
        }
        var patcher = JSONPatcher(scanner)
        let quoted = JSONScanner.quote(image)
        var previous: String?
        let offset: Int
        if let current = entry.member("image") {
            previous = current.value.string
            patcher.replace(current.value, with: quoted)
            offset = current.value.start
        } else {
            patcher.appendMember(to: entry, key: "image", valueText: quoted)
            offset = entry.start
        }
        let output = patcher.apply()
        _ = try JSONScanner(text: output, fileName: fileName)
        return (
            output,
            DeployChange(
                file: fileName, line: scanner.line(of: offset),
                location: "containerDefinitions[name=\(container)].image",
                previousValue: previous, modified: output != text)
        )
    }
}
