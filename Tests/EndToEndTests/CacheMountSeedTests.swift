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
        #expect(!image.exists("c/log") && !image.exists("c/file"))
        #expect(RunTests.mounts(under: store).isEmpty, "\(RunTests.mounts(under: store))")
    }

    @Test func aCacheFromAnImageIsRefusedWithWhatToDo() throws {
        let scratch = try TemporaryDirectory.scratch("cache-from-image")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            ["Dockerfile": "FROM debian-python:bookworm\nRUN --mount=type=cache,target=/c,from=alpine:3 true\n"],
            in: context)
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let result = try Imagekit.run(["build", context.path], store: store, directory: scratch.url)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("Dockerfile:2"), "\(result.stderr)")
        #expect(result.stderr.contains("only earlier stages can be mounted"), "\(result.stderr)")
    }
}
