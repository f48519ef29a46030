import Foundation
import OCI
import Registry
import Store
import TestSupport
import Testing

@Suite(.serialized) struct FaultTests {
    /// A registry behind the fault proxy and a store with a 4-blob image.
    static func setUp(
        _ body: (FaultProxy, ImageStore, StoredImage, ImageReference, String) async throws -> Void
    ) async throws {
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(upstream: registry.host)
            defer { proxy.stop() }
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 3, layerBytes: 256 * 1024)
            try await body(proxy, store, image, try ImageReference(parsing: "\(proxy.host)/team/app"), registry.host)
        }
    }

    static func skopeoDigest(_ reference: String) throws -> String? {
        let out = try run("/usr/bin/skopeo", ["inspect", "--tls-verify=false", "docker://\(reference)"]).checked()
            .stdoutData
        return (try JSONSerialization.jsonObject(with: out) as? [String: Any])?["Digest"] as? String
    }

    @Test func survivesAResetInTheMiddleOfAnUpload() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            try proxy.setFaults([["method": "PUT", "path": "/blobs/uploads/", "action": "reset", "times": 2]])
            let progress = RecordingProgress()
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["1"], progress: progress)
            }
            #expect(result.digest == image.digest)
            #expect(progress.retries == 2)
            let log = try proxy.log()
            #expect(log.filter { $0.fault == "reset" }.count == 2)
            // Every retry started a new session: no PUT ever hit a used one.
            #expect(!log.contains { $0.fault == "reused-session" })
            #expect(try Self.skopeoDigest("\(upstream)/team/app:1") == image.digest.description)
        }
    }

    @Test func retriesServerErrorsAndHonoursRetryAfter() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            try proxy.setFaults([
                ["method": "POST", "path": "/blobs/uploads/", "status": 500, "times": 2],
                ["method": "PUT", "path": "/manifests/", "status": 429, "retry_after": 1, "times": 1],
                ["method": "PUT", "path": "/blobs/uploads/", "status": 503, "times": 1],
            ])
            let progress = RecordingProgress()
            let started = Date()
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["1"], progress: progress)
            }
            #expect(result.digest == image.digest)
            #expect(Date().timeIntervalSince(started) >= 1.0)  // the Retry-After wait happened
            let delays = progress.events.compactMap { event -> Double? in
                if case .retrying(let operation, _, let delay, _) = event, operation.contains("manifest") {
                    return delay
                }
                return nil
            }
            #expect(delays == [1.0])
            #expect(try Self.skopeoDigest("\(upstream)/team/app:1") == image.digest.description)
        }
    }

    @Test func neverReusesAnUploadSession() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            // The proxy fails the PUT after reading it; a client that PUT the same session again would get 416.
            try proxy.setFaults([["method": "PUT", "path": "/blobs/uploads/", "status": 500, "times": 3]])
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["1"])
            }
            #expect(result.digest == image.digest)
            let log = try proxy.log()
            #expect(!log.contains { $0.fault == "reused-session" })
            let posts = log.filter { $0.method == "POST" }.count
            #expect(posts == 4 + 3)
        }
    }

    @Test func aReusedSessionAnswers416AndIsRetriedWithANewOne() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            try proxy.setFaults([["method": "PUT", "path": "/blobs/uploads/", "status": 416, "times": 1]])
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["1"])
            }
            #expect(result.digest == image.digest)
            #expect(result.blobsUploaded == 4)
        }
    }

    @Test func givesUpWithAClearMessageWhenTheBudgetIsSpent() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            try proxy.setFaults([["method": "POST", "path": "/blobs/uploads/", "status": 500, "times": 100]])
            let error = await #expect(throws: RegistryError.self) {
                _ = try await withClient(testClient(attempts: 3)) { client in
                    try await client.push(image, from: store, to: destination, tags: ["1"])
                }
            }
            guard case .retriesExhausted(let operation, let attempts, let last)? = error else {
                Issue.record("expected retriesExhausted, got \(String(describing: error))"); return
            }
            #expect(attempts == 3)
            #expect(operation.contains("uploading blob"))
            #expect(last.contains("500"))
            #expect(error!.description.contains("run the command again"))
        }
    }

    @Test func anInterruptedPushResumesWithOnlyTheMissingBlobs() async throws {
        try await Self.setUp { proxy, store, image, destination, upstream in
            // After two blob uploads every connection is reset for good.
            try proxy.setFaults([], killAfterBlobPuts: 2)
            await #expect(throws: RegistryError.self) {
                _ = try await withClient(testClient(attempts: 2)) { client in
                    try await client.push(
                        image, from: store, to: destination, tags: ["1"], options: PushOptions(jobs: 1))
                }
            }
            try proxy.setFaults([])
            try proxy.clear()
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["1"])
            }
            #expect(result.digest == image.digest)
            #expect(result.blobsSkipped == 2)
            #expect(result.blobsUploaded == 2)
            let log = try proxy.log()
            #expect(log.filter { $0.method == "PUT" && $0.path.contains("/blobs/uploads/") }.count == 2)
            #expect(try Self.skopeoDigest("\(upstream)/team/app:1") == image.digest.description)
        }
    }
}
