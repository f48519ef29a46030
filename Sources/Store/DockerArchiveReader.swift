import Archive
import Foundation
import OCI

/// `docker save` output: a tar holding manifest.json, the config and the layer tars.
/// Layers are read in place (offset into the tar), never extracted.
public enum DockerArchiveReader {
    private struct Entry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    public static func load(file: URL, tag: String?, reference: String) throws(StoreError) -> ImageSource {
        let members: [String: TarIndex.Member]
        do { members = try TarIndex.members(of: file) } catch { throw Self.failure(error, file: file) }
        func bytes(_ name: String) throws(StoreError) -> Data {
            guard let member = members[TarIndex.memberName(name)] else {
                throw .invalidImage(reference, reason: "\(name) is missing from \(file.path)")
            }
            do { return try TarIndex.read(file, member) } catch { throw Self.failure(error, file: file) }
        }
        let entries: [Entry]
        do { entries = try JSONDecoder().decode([Entry].self, from: try bytes("manifest.json")) } catch let error
            as StoreError
        {
            throw error
        } catch {
            throw .invalidImage(
                reference, reason: "manifest.json in \(file.path) is not a docker save manifest: \(error)")
        }
        let chosen: Entry?
        if let tag {
            chosen = entries.first { $0.RepoTags?.contains { $0 == tag || $0.hasSuffix(":" + tag) } ?? false }
        } else {
            chosen = entries.count == 1 ? entries.first : nil
        }
        guard let entry = chosen else {
            let tags = entries.flatMap { $0.RepoTags ?? [] }
            throw .invalidImage(
                reference,
                reason: tag == nil
                    ? "the archive holds \(entries.count) images; name one as docker-archive:\(file.path):TAG (tags: \(tags.joined(separator: ", ")))"
                    : "no image tagged '\(tag!)' in the archive (tags: \(tags.joined(separator: ", ")))")
        }
        let config: ImageConfig
        do { config = try ImageConfig.decode(try bytes(entry.Config)) } catch let error as StoreError {
            throw error
        } catch {
            throw .invalidImage(reference, reason: "\(entry.Config): \(error)")
        }
        var layers: [LayerBlob] = []
        for (index, name) in entry.Layers.enumerated() {
            guard let member = members[TarIndex.memberName(name)] else {
                throw .invalidImage(reference, reason: "layer \(name) is missing from \(file.path)")
            }
            let hex = name.hasPrefix("blobs/sha256/") ? String(name.dropFirst("blobs/sha256/".count)) : nil
            let digest = hex.flatMap { try? Digest(parsing: "sha256:" + $0) }
            layers.append(
                LayerBlob(
                    digest: digest, diffID: index < config.rootfs.diffIDs.count ? config.rootfs.diffIDs[index] : nil,
                    file: file, offset: member.offset, length: member.size, uncompressedSize: nil))
        }
        return ImageSource(digest: nil, config: config, layers: layers)
    }

    /// The archive's own errors read as before: "cannot read image FILE: what is wrong".
    private static func failure(_ error: ArchiveError, file: URL) -> StoreError {
        if case .invalidArchive(let path, let reason) = error { return .invalidImage(path, reason: reason) }
        return .invalidImage(file.path, reason: error.description)
    }
}
