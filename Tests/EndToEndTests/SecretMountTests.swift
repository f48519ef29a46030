import Foundation
import TestSupport
import Testing

/// `RUN --mount=type=secret` as BuildKit gives it: a read-only copy with the mount's mode and owner
/// (0400 root by default), or an environment variable with `env=`, from a file or a variable of
/// imagekit's own environment (`--secret id=ID,env=VAR`, or `id=ID` alone); never in the image.
@Suite(.serialized) struct SecretMountTests {
    @Test func modeOwnerAndEnvironmentVariablesAreApplied() throws {
        let scratch = try TemporaryDirectory.scratch("secret-mounts")
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        let fileValue = "file-\(UUID().uuidString)"
        let envValue = "env-\(UUID().uuidString)"
        let secretFile = scratch.url.appendingPathComponent("token.txt")
        // The user's file is 0644 and not root's: the mount shows the mount's mode and owner, not these.
        try Data(fileValue.utf8).write(to: secretFile)
        chmod(secretFile.path, 0o644)
        chown(secretFile.path, 4321, 4321)
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN echo "app:x:1500:1500::/home/app:/bin/sh" >> /etc/passwd
                RUN --mount=type=secret,id=token stat -c '%a %u:%g' /run/secrets/token > /default-mount \\
                 && sha256sum < /run/secrets/token > /file-hash
                USER app
                RUN --mount=type=secret,id=token,target=/home/app/token,uid=1500,gid=1500,mode=0440 \\
                    stat -c '%a %u:%g' /home/app/token > /tmp/owned && cat /home/app/token > /dev/null \\
                 && cp /tmp/owned /tmp/owned-by-app
                RUN --mount=type=secret,id=api,env=API_TOKEN \\
                    printf %s "$API_TOKEN" | sha256sum > /tmp/env-hash && test ! -e /run/secrets/api
                RUN --mount=type=secret,id=API_TOKEN,env=API_TOKEN,target=/tmp/api-file,uid=1500 \\
                    printf %s "$API_TOKEN" | sha256sum > /tmp/both-env-hash && sha256sum < /tmp/api-file > /tmp/both-file-hash
                """
            ], in: context)
        let result = try Imagekit.run(
            [
                "build", "-t", "secrets:1", "--progress", "plain",
                "--secret", "id=token,src=\(secretFile.path)",
                "--secret", "id=api,env=IMAGEKIT_TEST_SECRET",
                "--secret", "id=API_TOKEN",  // the variable API_TOKEN, since it is set
                context.path,
            ], store: store, environment: ["IMAGEKIT_TEST_SECRET": envValue, "API_TOKEN": envValue],
            directory: scratch.url)
        try #require(result.status == 0, "\(result.stderr)")
        let image = try BuildTests.unpack(store, "secrets:1", scratch: scratch)
        #expect(image.read("default-mount") == "400 0:0\n")
        #expect(image.read("tmp/owned-by-app") == "440 1500:1500\n")
        // The Dockerfile holds no value (the history would show it): the steps wrote their hashes.
        func hash(_ text: String) throws -> String? {
            try run("/usr/bin/sha256sum", [], stdin: Data(text.utf8)).checked().stdout
        }
        #expect(image.read("file-hash") == (try hash(fileValue)))
        #expect(image.read("tmp/env-hash") == (try hash(envValue)))
        #expect(image.read("tmp/both-env-hash") == (try hash(envValue)))
        #expect(image.read("tmp/both-file-hash") == (try hash(envValue)))
        #expect(!image.exists("run/secrets") && !image.exists("home/app/token") && !image.exists("tmp/api-file"))

        // Neither value is in a layer or the config (the variable is the process's, not the image's).
        let baseLayers = Set(try RunTests.manifestLayers(store, base))
        for layer in try RunTests.manifestLayers(store, "secrets:1") where !baseLayers.contains(layer) {
            for value in [fileValue, envValue] {
                let found = try run(
                    "/bin/sh", ["-c", "gzip -dc \"$0\" | grep -c -F \"$1\"", RunTests.blob(store, layer), value])
                #expect(found.trimmed == "0", "a secret is in layer \(layer)")
            }
        }
        let config = try Imagekit.run(["inspect", "secrets:1"], store: store)
        #expect(config.status == 0, "\(config.stderr)")
        #expect(!config.stdout.contains(envValue), "\(config.stdout)")
        #expect(!config.stdout.contains("\"API_TOKEN="), "the variable reached the image's Env: \(config.stdout)")
        // The mounts left nothing mounted behind.
        #expect(RunTests.mounts(under: store).isEmpty, "\(RunTests.mounts(under: store))")
    }

    @Test func badSecretFlagsAreUsageErrors() throws {
        let scratch = try TemporaryDirectory.scratch("secret-flags")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": "FROM scratch\n"], in: context)
        let cases: [(String, String)] = [
            (
                "id=x,env=IMAGEKIT_TEST_UNSET_VARIABLE",
                "the environment variable IMAGEKIT_TEST_UNSET_VARIABLE is not set"
            ),
            ("id=x,src=\(scratch.path("missing"))", "--secret x: cannot read"),
            ("id=x,type=socket", "type=socket is not file or env"),
            ("src=/etc/hostname", "expected id=ID,src=FILE or id=ID,env=VARIABLE"),
            ("id=x,path=/etc/hostname", "unknown field 'path'"),
        ]
        for (flag, message) in cases {
            let result = try Imagekit.run(
                ["build", "--secret", flag, context.path], store: scratch.path("store"),
                environment: [:], directory: scratch.url)
            #expect(result.status == 2, "\(flag): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message), "\(flag): \(result.stderr)")
        }
    }
}
