import Archive
import Foundation
import OCI

#if canImport(Glibc)
import Glibc
#endif

extension ImageStore {
    /// Writes one layer into the store as a single transaction, for every producer of layers (a
    /// build step, `import`). `body` adds the layer's entries to the writer it is given; when it
    /// returns, the layer is finished (fsync'd), moved into `blobs/` and its facts (diffID,
    /// uncompressed size, verified: it was hashed while written) are recorded. When anything
    /// throws, everything the transaction wrote is removed: the partial ingest file, and the blob
    /// when this transaction added it. Runs in the caller's task, not on the store's actor, so
    /// several layers can be written at once.
    public nonisolated func ingestLayer(
        options: LayerOptions, _ body: (LayerWriter) throws -> Void
    ) async throws -> WrittenLayer {
        let output = newIngestURL()
        let written: WrittenLayer
        do {
            let writer = try LayerWriter(output: output, options: options)
            try body(writer)
            written = try writer.finish()
        } catch {
            unlink(output.path)
            throw error
        }
        let existed = hasBlob(written.digest)
        do {
            try await commitIngested(output, digest: written.digest, size: written.size)
            try await recordVerifiedLayerInfo(
                diffID: written.diffID, uncompressedSize: written.uncompressedSize, for: written.digest)
        } catch {
            unlink(output.path)
            if !existed { unlink(blobURL(written.digest).path) }
            throw error
        }
        return written
    }
}
