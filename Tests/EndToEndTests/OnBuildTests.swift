import Foundation
import TestSupport
import Testing

/// ONBUILD: triggers are recorded in the image that declares them, and run right after FROM in a
/// build that uses that image as its base (in the later build's context); the new image keeps none.
@Suite(.serialized) struct OnBuildTests {
    @Test func aBaseImagesTriggersRunAfterFrom() throws {
        let scratch = try TemporaryDirectory.scratch("onbuild")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let baseContext = scratch.url.appendingPathComponent("base")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                ONBUILD ARG GREETING=hello
                ONBUILD COPY app.txt /app/
                ONBUILD RUN echo "$GREETING from a trigger" > /triggered
                ONBUILD ENV FROM_TRIGGER=1
                RUN echo base > /base
                """
            ], in: baseContext)
        let base = try Imagekit.run(
            ["build", "-t", "onbase:1", baseContext.path], store: store, directory: scratch.url)
        try #require(base.status == 0, "\(base.stderr)")
        // The declaring image records the triggers and did not run them.
        let baseConfig = try Imagekit.run(["inspect", "onbase:1"], store: store)
        #expect(baseConfig.stdout.contains("\"OnBuild\""), "\(baseConfig.stdout)")
        #expect(baseConfig.stdout.contains("\"COPY app.txt /app/\""), "\(baseConfig.stdout)")
        let baseImage = try BuildTests.unpack(store, "onbase:1", scratch: scratch)
        #expect(!baseImage.exists("triggered") && !baseImage.exists("app"))

        let appContext = scratch.url.appendingPathComponent("app")
        try BuildTests.write(
            [
                "Dockerfile": "FROM onbase:1\nRUN cat /triggered > /seen-by-next-step\n",
                "app.txt": "from the app's context\n",
            ], in: appContext)
        let app = try Imagekit.run(
            ["build", "-t", "onapp:1", "--progress", "plain", "--build-arg", "GREETING=hi", appContext.path],
            store: store, directory: scratch.url)
        try #require(app.status == 0, "\(app.stderr)")
        #expect(app.stderr.contains("ONBUILD COPY app.txt /app/"), "\(app.stderr)")
        let image = try BuildTests.unpack(store, "onapp:1", scratch: scratch)
        #expect(image.read("app/app.txt") == "from the app's context\n")
        #expect(image.read("triggered") == "hi from a trigger\n")
        #expect(image.read("seen-by-next-step") == "hi from a trigger\n")
        let config = try Imagekit.run(["inspect", "onapp:1"], store: store)
        #expect(config.stdout.contains("FROM_TRIGGER=1"), "\(config.stdout)")
        #expect(!config.stdout.contains("\"OnBuild\""), "the new image keeps no trigger: \(config.stdout)")

        // A trigger that fails names the FROM line of the Dockerfile being built.
        try FileManager.default.removeItem(at: appContext.appendingPathComponent("app.txt"))
        let broken = try Imagekit.run(["build", appContext.path], store: store, directory: scratch.url)
        #expect(broken.status != 0)
        #expect(broken.stderr.contains("Dockerfile:1"), "\(broken.stderr)")
        #expect(broken.stderr.contains("app.txt"), "\(broken.stderr)")
    }
}
