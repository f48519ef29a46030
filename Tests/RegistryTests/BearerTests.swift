import Foundation
import OCI
import Registry
import Store
import TestSupport
import Testing

@Suite(.serialized) struct BearerTests {
    @Test func getsScopedTokensAndCachesThem() async throws {
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(
                upstream: registry.host, bearer: true, tokenUser: "robot", tokenPassword: "t0ken-pass")
            defer { proxy.stop() }
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 3)
            let credentials = StaticCredentials(host: proxy.host, username: "robot", password: "t0ken-pass")
            try await withClient(testClient(credentials: credentials)) { client in
                _ = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(proxy.host)/team/app"), tags: ["1", "2"])
                let pushTokens = try proxy.tokens()
                // One challenge, then one token for the push scope, shared by every parallel request.
                #expect(pushTokens.count == 1)
                #expect(pushTokens.first?.scopes == ["repository:team/app:pull,push"])
                #expect(pushTokens.first?.service == "fake-registry")
                #expect(pushTokens.first?.basic == true)
                #expect(await client.tokenRequestCount() == 1)
                let challenges = try proxy.log().filter { $0.fault == "challenge" }.count
                #expect(challenges == 1)

                let pullDir = try TemporaryDirectory()
                let pulled = try await client.pull(
                    try ImageReference(parsing: "\(proxy.host)/team/app:1"), into: try ImageStore(root: pullDir.url))
                #expect(pulled.digest == image.digest)
                let all = try proxy.tokens()
                #expect(all.count == 2)
                #expect(all.last?.scopes == ["repository:team/app:pull"])
                // The host's scheme is known by now: the pull asked for its token without a 401 first.
                #expect(try proxy.log().filter { $0.fault == "challenge" }.count == 1)

                // Cross-repository mount: the token covers both repositories.
                let mounted = try await client.push(
                    image, from: store, to: try ImageReference(parsing: "\(proxy.host)/team/copy"), tags: ["1"],
                    options: PushOptions(mountFrom: "team/app"))
                #expect(mounted.blobsMounted == 4)
                #expect(
                    Set(try proxy.tokens().last?.scopes ?? []) == [
                        "repository:team/copy:pull,push", "repository:team/app:pull",
                    ])
            }
        }
    }

    @Test func expiredTokensAreRenewed() async throws {
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(upstream: registry.host, bearer: true, tokenTTL: 1)
            defer { proxy.stop() }
            let storeDir = try TemporaryDirectory()
            let store = try ImageStore(root: storeDir.url)
            let image = try await TestImages.make(in: store, tag: "app:1", layers: 1)
            let clock = ManualClock()
            try await withClient(testClient(clock: clock)) { client in
                let destination = try ImageReference(parsing: "\(proxy.host)/anon/app")
                _ = try await client.push(image, from: store, to: destination, tags: ["1"])
                #expect(try proxy.tokens().allSatisfy { !$0.basic })
                // The first pull-scoped request fetches a token; a second one within its lifetime reuses it.
                #expect(try await client.manifestDigest(try destination.withTag("1")) == image.digest)
                let before = try proxy.tokens().count
                #expect(try await client.manifestDigest(try destination.withTag("1")) == image.digest)
                #expect(try proxy.tokens().count == before, "a token within its lifetime is reused")
                clock.advance(by: 2)  // past the 1 s lifetime the registry gave
                #expect(try await client.manifestDigest(try destination.withTag("1")) == image.digest)
                #expect(try proxy.tokens().count == before + 1)
            }
        }
    }

    @Test func aRefusedTokenIsUnauthorized() async throws {
        try await LocalRegistry.with { registry in
            let proxy = try FaultProxy.start(
                upstream: registry.host, bearer: true, tokenUser: "robot", tokenPassword: "right")
            defer { proxy.stop() }
            try await withClient(
                testClient(credentials: StaticCredentials(username: "robot", password: "wrong-secret"))
            ) { client in
                let error = await #expect(throws: RegistryError.self) {
                    _ = try await client.manifestDigest(try ImageReference(parsing: "\(proxy.host)/team/app:1"))
                }
                guard case .unauthorized? = error else {
                    Issue.record("expected unauthorized, got \(String(describing: error))"); return
                }
                #expect(!(error?.description.contains("wrong-secret") ?? true))
            }
        }
    }
}
