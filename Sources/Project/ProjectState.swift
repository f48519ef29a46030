import Foundation

/// What the project's last `imagekit build` produced, kept per store and project directory
/// (in the store, not the repository, so nothing in the build context changes).
public struct LastBuild: Sendable, Codable, Equatable {
    public var image: String
    public var digest: String
    public var builtAt: String

    public init(image: String, digest: String, builtAt: String) {
        self.image = image
        self.digest = digest
        self.builtAt = builtAt
    }
}

public struct ProjectState: Sendable {
    public let file: URL
    public let projectDirectory: URL

    public init(storeRoot: URL, projectDirectory: URL) {
        let key = projectDirectory.standardizedFileURL.path
        // FNV-1a keeps the file name short and stable for a project path.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.projectDirectory = projectDirectory
        file = storeRoot.appendingPathComponent("meta/projects/\(String(hash, radix: 16)).json")
    }

    public func lastBuild() throws(ProjectError) -> LastBuild {
        guard let data = try? Data(contentsOf: file), let record = try? JSONDecoder().decode(Record.self, from: data),
            record.project == projectDirectory.standardizedFileURL.path
        else { throw .noLastBuild(project: projectDirectory.path) }
        return record.lastBuild
    }

    public func recordBuild(_ build: LastBuild) throws(ProjectError) {
        let record = Record(project: projectDirectory.standardizedFileURL.path, lastBuild: build)
        do {
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            // Data.write(.atomic) writes a temp file and renames it.
            try encoder.encode(record).write(to: file, options: .atomic)
        } catch {
            throw .unreadable(file: file.path, reason: "cannot record the build: \(error.localizedDescription)")
        }
    }

    private struct Record: Codable {
        var project: String
        var lastBuild: LastBuild
    }
}
