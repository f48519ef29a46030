import Dockerfile
import Foundation
import OCI
import Store

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `ADD https://...` as BuildKit does it: the file is downloaded (never unpacked), named after the
/// URL's last path segment (`__unnamed__` when it has none), mode 0600 unless `--chmod`; its
/// content digest goes into the step's cache key. `--checksum=sha256:...` pins it: a different
/// download stops the build. Without a checksum the build warns that it is not reproducible.
enum AddURL {
    struct Download {
        var url: String
        var file: URL
        var digest: Digest
    }

    /// The sources this ADD downloads.
    static func isDownload(_ source: String) -> Bool {
        CopySources.isHTTPURL(source) && !CopySources.isGitURL(source)
    }

    /// Downloading is network access: with `imagekit build --network none` an ADD of an http(s) or
    /// git URL stops the build as a RUN step would find no network (`RunStep.network`: none wins).
    static func checkNetwork(_ copy: CopyInstruction, build network: RunNetwork?) throws {
        guard network == RunNetwork.none,
            let source = copy.sources.first(where: { isDownload($0.text) || CopySources.isGitURL($0.text) })
        else { return }
        throw BuildError.instruction(
            location: source.location.description,
            message:
                "ADD \(source.text) needs the network, but the build runs with --network none; put the file in the build context and COPY it, or build with --network default"
        )
    }

    static func fileName(_ source: String) -> String {
        let path = URLComponents(string: source)?.path ?? ""
        let base = path.split(separator: "/").last.map(String.init) ?? ""
        return base.isEmpty || base == "." || base == ".." ? "__unnamed__" : base
    }

    static func fetch(
        _ copy: CopyInstruction, into workRoot: URL, location: String, warn: (String) -> Void
    ) async throws -> [Download] {
        let sources = copy.sources.filter { isDownload($0.text) }
        if let checksum = copy.checksum, sources.count != 1 || copy.sources.count != 1 || !copy.heredocs.isEmpty {
            throw BuildError.instruction(
                location: checksum.location.description,
                message:
                    "--checksum applies to exactly one http(s) source; give each download its own ADD --checksum=... line"
            )
        }
        var downloads: [Download] = []
        for source in sources {
            let directory = workRoot.appendingPathComponent("add-url-\(UUID().uuidString.lowercased().prefix(12))")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let file = directory.appendingPathComponent(fileName(source.text))
            try await download(source.text, to: file, location: source.location.description)
            let digest: Digest
            do { digest = try ImageStore.hashFile(file).digest } catch {
                throw BuildError.download(
                    location: source.location.description, url: source.text,
                    reason: "cannot read the downloaded file: \(error)")
            }
            if let checksum = copy.checksum {
                guard checksum.text == digest.description else {
                    throw BuildError.checksumMismatch(
                        location: checksum.location.description, url: source.text,
                        expected: checksum.text, actual: digest.description)
                }
            } else {
                warn(
                    "\(source.location): ADD \(source.text) has no --checksum, so the build is not reproducible if the file changes; pin it with ADD --checksum=\(digest) \(source.text)"
                )
            }
            chmod(file.path, 0o600)
            downloads.append(Download(url: source.text, file: file, digest: digest))
        }
        return downloads
    }

    /// Streams the body to `file` (never held in memory); only a 200 answer counts.
    private static func download(_ url: String, to file: URL, location: String) async throws {
        guard let remote = URL(string: url) else {
            throw BuildError.download(location: location, url: url, reason: "not a valid URL")
        }
        let session = URLSession(configuration: .ephemeral)
        defer { session.finishTasksAndInvalidate() }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
            let task = session.downloadTask(with: remote) { temporary, response, error in
                if let error {
                    continuation.resume(
                        throwing: BuildError.download(location: location, url: url, reason: error.localizedDescription))
                    return
                }
                let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                guard status == 200, let temporary else {
                    continuation.resume(
                        throwing: BuildError.download(
                            location: location, url: url, reason: "the server answered HTTP \(status)"))
                    return
                }
                // The temporary file is removed when this handler returns: move it now.
                do {
                    try FileManager.default.moveItem(at: temporary, to: file)
                    continuation.resume()
                } catch {
                    continuation.resume(
                        throwing: BuildError.download(
                            location: location, url: url,
                            reason: "cannot keep the download: \(error.localizedDescription)"))
                }
            }
            task.resume()
        }
    }
}
