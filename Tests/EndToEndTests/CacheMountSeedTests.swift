import Foundation
import TestSupport
import Testing

/// `RUN --mount=type=cache` with `from=`/`source=` (seeded from a stage), `ro`, and its contents
/// kept between builds; the cache directory is never part of a layer.
@Suite(.serialized) struct CacheMountSeedTests {
    @Test func aCacheSeededFromAStageKeepsWhatStepsAddAndRoIsReadOnly() throws {
        let scratch = try TemporaryDirectory.scratch("cache-seed")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm AS seed
                RUN mkdir -p /seed/data && echo seeded > /seed/data/file && chown 1234:1234 /seed/data/file
                FROM debian-python:bookworm
                ARG BUILD
                RUN --mount=type=cache,id=s,target=/c,from=seed,source=/seed/data,sharing=locked \\
                    echo "$BUILD" >> /c/log && cp /c/log /log && stat -c %u /c/file > /owner && cp /c/file /seen
                RUN --mount=type=cache,id=s,target=/c,ro,from=seed,source=/seed/data \\
                    cp /c/log /log-ro && ! touch /c/x 2>/dev/null && echo read-only > /ro
                RUN --mount=type=cache,id=twice,target=/a,sharing=locked \\
                    --mount=type=cache,id=twice,target=/b,sharing=locked echo same > /a/f && cat /b/f > /same
                """
            ], in: context)
        for number in 1...2 {
            let result = try Imagekit.run(
                ["build", "-t", "seeded:\(number)", "--build-arg", "BUILD=\(number)", context.path], store: store,
                directory: scratch.url)
            try #require(result.status == 0, "\(result.stderr)")
        }
        let image = try BuildTests.unpack(store, "seeded:2", scratch: scratch)
        #expect(image.read("seen") == "seeded\n")
        #expect(image.read("owner") == "1234\n")
        // The second build's step found what the first one added to the seeded cache.
        #expect(image.read("log") == "1\n2\n")
        #expect(image.read("log-ro") == "1\n2\n")
        #expect(image.read("ro") == "read-only\n")
        // Two mounts of one locked cache in a step share its lock (a second lock would wait forever).
        #expect(image.read("same") == "same\n")
        #expect(!image.exists("c/log") && !image.exists("c/file"))
        #expect(RunTests.mounts(under: store).isEmpty, "\(RunTests.mounts(under: store))")
    }

    /// `from=` an image (as `COPY --from=` takes one): the store's copy, else pulled.
    @Test func bindAndCacheMountsTakeAnImage() throws {
        let scratch = try TemporaryDirectory.scratch("mount-from-image")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM scratch AS unrelated
                FROM debian-python:bookworm
                RUN rm /etc/os-release
                RUN --mount=type=bind,from=debian-python:bookworm,source=/etc/os-release,target=/mnt/osr \
                    --mount=type=cache,from=debian-python:bookworm,source=/etc/apt,target=/mnt/apt,id=apt \
                    cp /mnt/osr /os-release-from-image && ls /mnt/apt > /apt-listing
                """
            ], in: context)
        let result = try Imagekit.run(
            ["build", "-t", "from-image:1", context.path], store: store, directory: scratch.url)
        try #require(result.status == 0, "\(result.stderr)")
        let image = try BuildTests.unpack(store, "from-image:1", scratch: scratch)
        #expect(image.read("os-release-from-image")?.contains("bookworm") == true)
        #expect(image.read("apt-listing")?.split(separator: "\n").contains("sources.list.d") == true)
        #expect(!image.exists("etc/os-release"))

        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN --mount=type=bind,from=127.0.0.1:1/nothere:1,target=/mnt true
                """
            ], in: context)
        let missing = try Imagekit.run(["build", context.path], store: store, directory: scratch.url)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("Dockerfile:2"), "\(missing.stderr)")
        #expect(
            missing.stderr.contains("is neither a stage of this Dockerfile nor an image that can be pulled"),
            "\(missing.stderr)")
    }
}
