import Foundation
import OCI
import Registry
import Store
import TestSupport
import Testing

@Suite(.serialized) struct PushTests {
    @Test func pushesWithTwoTagsAndSkopeoSeesTheSameImage() async throws {
        let storeDir = try TemporaryDirectory()
        let store = try ImageStore(root: storeDir.url)
        // OCI format: skopeo's oci: layout then keeps every byte (it rewrites Docker configs as OCI).
        let image = try await TestImages.make(in: store, tag: "app:build", layers: 3, format: .oci)
        try await LocalRegistry.with { registry in
            let destination = try ImageReference(parsing: "\(registry.host)/team/app")
            let result = try await withClient(testClient()) { client in
                try await client.push(image, from: store, to: destination, tags: ["v1", "latest"])
            }
            #expect(result.digest == image.digest)
            #expect(result.reference == "\(registry.host)/team/app@\(image.digest)")
            #expect(result.tags == ["v1", "latest"])
            #expect(result.blobsUploaded == 4)
            #expect(result.blobsSkipped == 0)
            #expect(result.bytesUploaded == image.manifest.layers.reduce(image.manifest.config.size) { $0 + $1.size })

            for tag in ["v1", "latest"] {
                let out = try run(
                    "/usr/bin/skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/team/app:\(tag)"]
                ).checked().stdoutData
                let inspected = try JSONSerialization.jsonObject(with: out) as? [String: Any]
                #expect(inspected?["Digest"] as? String == image.digest.description)
            }
            let layout = try TemporaryDirectory(prefix: "imagekit-skopeo")
            try run(
                "/usr/bin/skopeo",
                ["copy", "--src-tls-verify=false", "docker://\(registry.host)/team/app:v1", "oci:\(layout.path)/img"]
            ).checked()
            for blob in [image.manifest.config] + image.manifest.layers + [image.descriptor] {
                let copied = try Data(contentsOf: layout.appending("img/blobs/sha256/\(blob.digest.encoded)"))
                #expect(copied == (try Data(contentsOf: store.blobURL(blob.digest))))
            }
            let raw = try run(
                "/usr/bin/skopeo",
                ["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/team/app:latest"]
            ).checked().stdoutData
            #expect(raw == image.manifestData)
        }
    }

    @Test func aSecondPushOnlyChecks() async throws {
        let storeDir = try TemporaryDirectory()
        let store = try ImageStore(root: storeDir.url)
        let image = try await TestImages.make(in: store, tag: "app:build", layers: 3)
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(upstream: registry.host)
            defer { proxy.stop() }
            let destination = try ImageReference(parsing: "\(proxy.host)/team/app")
            try await withClient(testClient()) { client in
                _ = try await client.push(image, from: store, to: destination, tags: ["v1", "latest"])
                try proxy.clear()
                let second = try await client.push(image, from: store, to: destination, tags: ["v1", "latest"])
                #expect(second.blobsUploaded == 0)
                #expect(second.bytesUploaded == 0)
                #expect(second.blobsSkipped == 4)
                #expect(Set(second.tagsUnchanged) == ["v1", "latest"])
                let methods = try proxy.log().map(\.method)
                #expect(methods.allSatisfy { $0 == "HEAD" }, "second push sent \(methods)")
                #expect(methods.count == 6)  // 4 blobs + 2 tags
            }
        }
    }

    @Test func refusesABadTagBeforeUploadingAnything() async throws {
        let storeDir = try TemporaryDirectory()
        let store = try ImageStore(root: storeDir.url)
        let image = try await TestImages.make(in: store, tag: "app:build", layers: 1)
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(upstream: registry.host)
            defer { proxy.stop() }
            try await withClient(testClient()) { client in
                await #expect(throws: RegistryError.self) {
                    _ = try await client.push(
                        image, from: store, to: try ImageReference(parsing: "\(proxy.host)/app"), tags: ["ok", "-bad"])
                }
            }
            #expect(try proxy.log().isEmpty)
        }
    }

    @Test func mountsFromAnotherRepository() async throws {
        let storeDir = try TemporaryDirectory()
        let store = try ImageStore(root: storeDir.url)
        let image = try await TestImages.make(in: store, tag: "app:build", layers: 2)
        try await LocalRegistry.with { registry in
            try await withClient(testClient()) { client in
                _ = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(registry.host)/base/app"), tags: ["1"])
                let mounted = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(registry.host)/other/app"), tags: ["1"],
                    options: PushOptions(mountFrom: "base/app"))
                #expect(mounted.blobsMounted == 3)
                #expect(mounted.blobsUploaded == 0)
                let out = try run(
                    "/usr/bin/skopeo", ["inspect", "--tls-verify=false", "docker://\(registry.host)/other/app:1"]
                ).checked().stdoutData
                #expect(String(decoding: out, as: UTF8.self).contains(image.digest.description))
            }
        }
    }

    @Test func pushesAnOCIImageByDigestOnly() async throws {
        let storeDir = try TemporaryDirectory()
        let store = try ImageStore(root: storeDir.url)
        let image = try await TestImages.make(in: store, tag: "app:oci", layers: 1, format: .oci)
        try await LocalRegistry.with { registry in
            try await withClient(testClient()) { client in
                let destination = ImageReference(registry: registry.host, repository: "app")
                let result = try await client.push(image, from: store, to: destination, tags: [])
                #expect(result.tags.isEmpty)
                let fetched = try await client.fetchManifest(destination.withDigest(result.digest))
                #expect(fetched.data == image.manifestData)
                #expect(fetched.mediaType == MediaType.ociManifest)
            }
        }
    }
}
