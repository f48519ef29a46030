import Foundation
import TestSupport
import Testing

/// Today's `dockerfile:1` syntax, built end to end with runc on the Debian base fixture:
/// heredocs in RUN, COPY and ADD, and WORKDIR created for the current USER, as BuildKit does them.
@Suite(.serialized) struct CompatTests {
    static let heredocDockerfile = """
        # syntax=docker/dockerfile:1
        # check=skip=JSONArgsRecommended;error=true
        FROM debian-python:bookworm
        ARG GREETING=hello
        RUN <<EOF
        set -e
        # a comment line belongs to the script
        echo "$GREETING simple" > /simple
        EOF
        RUN <<-EOT
        \techo tabs > /tabs
        \tEOT
        RUN <<EOF
        #!/usr/bin/python3
        import sys
        open("/shebang", "w").write(sys.argv[0] + "\\n")
        EOF
        RUN <<A cat > /a && <<'B' cat > /b
        first $GREETING
        A
        second $GREETING
        B
        RUN python3 <<EOF
        open("/py", "w").write("py\\n")
        EOF
        COPY <<EOF /etc/app.conf
        greeting=$GREETING "quoted" \\$kept
        EOF
        COPY <<'EOF' /etc/raw.conf
        greeting=$GREETING
        EOF
        ADD --chmod=0755 <<-EOT <<two /opt/bin/
        \t#!/bin/sh
        \tEOT
        2
        two
        """

    @Test func heredocsRunAndCopyAsBuildKitDoesAndAreReproducible() throws {
        let scratch = try TemporaryDirectory.scratch("compat-heredoc")
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": Self.heredocDockerfile], in: context)
        let built = try BuildTests.build(context, tag: "heredoc:1", store: store, scratch: scratch)
        let digest = built.trimmed

        let unpacked = try BuildTests.unpack(store, "heredoc:1", scratch: scratch)
        #expect(unpacked.read("simple") == "hello simple\n")
        #expect(unpacked.read("tabs") == "tabs\n")
        #expect(unpacked.read("shebang") == "/dev/pipes/EOF\n")
        #expect(unpacked.read("a") == "first hello\n")
        #expect(unpacked.read("b") == "second $GREETING\n")
        #expect(unpacked.read("py") == "py\n")
        #expect(unpacked.read("etc/app.conf") == "greeting=hello \"quoted\" \\$kept\n")
        #expect(unpacked.read("etc/raw.conf") == "greeting=$GREETING\n")
        #expect(unpacked.read("opt/bin/EOT") == "#!/bin/sh\n")
        #expect(unpacked.read("opt/bin/two") == "2\n")
        #expect(unpacked.owner("etc/app.conf") == "0:0 644")
        #expect(unpacked.owner("opt/bin/EOT") == "0:0 755")

        // The script mount lives in the container's /dev and never reaches a layer.
        let baseLayers = Set(try RunTests.manifestLayers(store, base))
        for layer in try RunTests.manifestLayers(store, "heredoc:1") where !baseLayers.contains(layer) {
            let paths = try RunTests.layerPaths(store, layer)
            #expect(!paths.contains { $0.hasPrefix("dev") }, "\(paths)")
        }

        // A changed heredoc body is a changed step; the unchanged steps before it stay cached.
        try BuildTests.write(
            [
                "Dockerfile": Self.heredocDockerfile.replacingOccurrences(
                    of: "greeting=$GREETING \"quoted\"", with: "greeting=$GREETING changed")
            ], in: context)
        let changed = try BuildTests.build(context, tag: "heredoc:2", store: store, scratch: scratch)
        #expect(RunTests.wasCached(changed.stderr, step: "python3 <<EOF") == true, "\(changed.stderr)")
        #expect(changed.trimmed != digest)
        try BuildTests.write(["Dockerfile": Self.heredocDockerfile], in: context)

        // The same Dockerfile in another empty store gives the same image.
        let store2 = scratch.path("store2")
        _ = try Fixture.importBase(store: store2)
        let again = try BuildTests.build(context, tag: "heredoc:1", store: store2, scratch: scratch)
        #expect(
            again.trimmed == digest,
            "\(RunTests.layerDifferences(store, store2, image: "heredoc:1"))")
    }

    @Test func unterminatedHeredocIsAnInputErrorWithItsPosition() throws {
        let scratch = try TemporaryDirectory.scratch("compat-unterminated")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["Dockerfile": "FROM scratch\nCOPY <<EOF /x\nno end\nEOS\n"], in: context)
        let result = try Imagekit.run(
            ["build", "-t", "bad:1", context.path], store: scratch.path("store"), directory: scratch.url)
        #expect(result.status == 2, "\(result.stderr)")
        #expect(result.stderr.contains("Dockerfile:2:6: unterminated heredoc `<<EOF`"), "\(result.stderr)")
    }

    @Test func workdirIsCreatedForTheCurrentUser() throws {
        let scratch = try TemporaryDirectory.scratch("compat-workdir")
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN useradd --uid 1500 --user-group --create-home app && groupadd --gid 1700 extra
                USER app
                WORKDIR /home/app/w/deeper
                RUN touch f
                USER 1234
                WORKDIR /data/x
                USER app:extra
                WORKDIR /srv/y
                USER root
                WORKDIR /home/app/w/deeper
                """
            ], in: context)
        try BuildTests.build(context, tag: "wd:1", store: store, scratch: scratch)
        let unpacked = try BuildTests.unpack(store, "wd:1", scratch: scratch)
        #expect(unpacked.owner("home/app/w") == "1500:1500 755")
        #expect(unpacked.owner("home/app/w/deeper") == "1500:1500 755")
        #expect(unpacked.owner("home/app/w/deeper/f").hasPrefix("1500:1500"))
        // A numeric user without a group owns the directory with gid = uid (BuildKit's by-id chown).
        #expect(unpacked.owner("data") == "1234:1234 755")
        #expect(unpacked.owner("data/x") == "1234:1234 755")
        #expect(unpacked.owner("srv/y") == "1500:1700 755")
        // Directories that already exist keep their owner.
        #expect(unpacked.owner("srv") == "0:0 755")
    }

    @Test func tmpfsMountIsEmptySizedAndLeftOutOfTheLayer() throws {
        let scratch = try TemporaryDirectory.scratch("compat-tmpfs")
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN --mount=type=tmpfs,target=/scratch/t,size=1m test "$(stat -f -c %T /scratch/t)" = tmpfs \\
                 && echo x > /scratch/t/f && ! head -c 2097152 /dev/zero > /scratch/t/big 2>/dev/null && echo ran > /ran
                RUN test ! -e /scratch/t/f
                """
            ], in: context)
        try BuildTests.build(context, tag: "tmpfs:1", store: store, scratch: scratch)
        let baseLayers = Set(try RunTests.manifestLayers(store, base))
        let own = try RunTests.manifestLayers(store, "tmpfs:1").filter { !baseLayers.contains($0) }
        #expect(own.count == 1)
        for layer in own {
            let paths = try RunTests.layerPaths(store, layer)
            #expect(paths == ["ran"], "\(paths)")
        }
    }

    // MARK: ADD from http(s)

    /// `ADD --unpack[=BOOL]`: a downloaded archive is unpacked only when asked; a local one unless
    /// told not to (dockerfile 1.17's defaults).
    @Test func addUnpackDecidesWhetherArchivesAreUnpacked() throws {
        let scratch = try TemporaryDirectory.scratch("compat-unpack")
        let served = scratch.url.appendingPathComponent("served")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(["payload/a.txt": "archived\n"], in: scratch.url)
        for archive in [served.appendingPathComponent("tool.tar.gz"), context.appendingPathComponent("local.tar.gz")] {
            try FileManager.default.createDirectory(
                at: archive.deletingLastPathComponent(), withIntermediateDirectories: true)
            try run("/usr/bin/tar", ["-czf", archive.path, "-C", scratch.path("payload"), "a.txt"]).checked()
        }
        let digest = try run("/usr/bin/sha256sum", [served.appendingPathComponent("tool.tar.gz").path]).stdout.prefix(
            64)
        let server = try PortServer.files(in: served)
        try #require(server.port > 0)
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                ADD --unpack=true --checksum=sha256:\(digest) \(server.url("tool.tar.gz")) /opt/remote-unpacked/
                ADD --checksum=sha256:\(digest) \(server.url("tool.tar.gz")) /opt/remote-kept/
                ADD --unpack=false local.tar.gz /opt/local-kept/
                ADD local.tar.gz /opt/local-unpacked/
                """
            ], in: context)
        var digests: [String] = []
        for name in ["store", "store2"] {
            let store = scratch.path(name)
            _ = try Fixture.importBase(store: store)
            let built = try Imagekit.run(
                ["build", "-t", "unpack:1", context.path], store: store, directory: scratch.url)
            try #require(built.status == 0, "\(built.stderr)")
            digests.append(built.trimmed)
        }
        #expect(digests[0] == digests[1], "ADD --unpack is reproducible")
        let image = try BuildTests.unpack(scratch.path("store"), "unpack:1", scratch: scratch)
        #expect(image.read("opt/remote-unpacked/a.txt") == "archived\n")
        #expect(!image.exists("opt/remote-unpacked/tool.tar.gz"))
        #expect(image.exists("opt/remote-kept/tool.tar.gz") && !image.exists("opt/remote-kept/a.txt"))
        #expect(image.exists("opt/local-kept/local.tar.gz") && !image.exists("opt/local-kept/a.txt"))
        #expect(image.read("opt/local-unpacked/a.txt") == "archived\n")
    }

    @Test func addFromHTTPIsCheckedKeyedByContentAndReproducible() throws {
        let scratch = try TemporaryDirectory.scratch("compat-addurl")
        let served = scratch.url.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        // A real gzip archive: ADD from a URL must not unpack it.
        let payload = scratch.url.appendingPathComponent("payload")
        try BuildTests.write(["payload/a.txt": "archived\n"], in: scratch.url)
        try #require(
            try run(
                "/usr/bin/tar",
                ["-czf", served.appendingPathComponent("tool.tar.gz").path, "-C", payload.path, "a.txt"]
            ).status == 0)
        try BuildTests.write(["conf.txt": "version=1\n"], in: served)
        let archiveDigest = try run("/usr/bin/sha256sum", [served.appendingPathComponent("tool.tar.gz").path]).stdout
            .prefix(64)
        let server = try PortServer.files(in: served)
        try #require(server.port > 0)

        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                ADD --checksum=sha256:\(archiveDigest) \(server.url("tool.tar.gz")) /opt/
                ADD \(server.url("conf.txt")) /etc/app/conf
                RUN cat /etc/app/conf > /seen
                """
            ], in: context)
        func build(_ store: String, tag: String = "addurl:1") throws -> ProcessResult {
            try Imagekit.run(
                ["build", "-t", tag, "--progress", "plain", context.path], store: store, directory: scratch.url)
        }
        let built = try build(store)
        try #require(built.status == 0, "\(built.stderr)")
        let digest = built.trimmed
        #expect(
            built.stderr.contains("ADD \(server.url("conf.txt")) has no --checksum, so the build is not reproducible"),
            "\(built.stderr)")
        #expect(!built.stderr.contains("ADD \(server.url("tool.tar.gz")) has no --checksum"), "\(built.stderr)")

        let unpacked = try BuildTests.unpack(store, "addurl:1", scratch: scratch)
        let archive = try Data(contentsOf: unpacked.url("opt/tool.tar.gz"))
        #expect(archive == (try Data(contentsOf: served.appendingPathComponent("tool.tar.gz"))))
        #expect(!unpacked.exists("opt/a.txt"))
        #expect(unpacked.owner("opt/tool.tar.gz") == "0:0 600")
        #expect(unpacked.read("seen") == "version=1\n")

        // Same inputs, another empty store: the same image.
        let store2 = scratch.path("store2")
        _ = try Fixture.importBase(store: store2)
        let again = try build(store2)
        try #require(again.status == 0, "\(again.stderr)")
        #expect(
            again.trimmed == digest,
            "\(RunTests.layerDifferences(store, store2, image: "addurl:1"))")

        // The content is in the cache key: a changed file at the same URL is a new step.
        try BuildTests.write(["conf.txt": "version=2\n"], in: served)
        let changed = try build(store, tag: "addurl:2")
        try #require(changed.status == 0, "\(changed.stderr)")
        #expect(RunTests.wasCached(changed.stderr, step: "tool.tar.gz") == true, "\(changed.stderr)")
        #expect(RunTests.wasCached(changed.stderr, step: "conf.txt") == false, "\(changed.stderr)")
        let unpacked2 = try BuildTests.unpack(store, "addurl:2", scratch: scratch)
        #expect(unpacked2.read("seen") == "version=2\n")

        // A checksum that does not match stops the build (exit 1), naming the URL and both digests.
        let wrong = "sha256:" + String(repeating: "0", count: 64)
        try BuildTests.write(
            ["Dockerfile": "FROM debian-python:bookworm\nADD --checksum=\(wrong) \(server.url("tool.tar.gz")) /opt/\n"],
            in: context)
        let mismatch = try build(store, tag: "addurl:bad")
        #expect(mismatch.status == 1, "\(mismatch.stderr)")
        #expect(mismatch.stderr.contains("Dockerfile:2:"), "\(mismatch.stderr)")
        for fragment in [server.url("tool.tar.gz"), wrong, "sha256:\(archiveDigest)"] {
            #expect(mismatch.stderr.contains(fragment), "\(fragment) not in \(mismatch.stderr)")
        }
    }

    // MARK: RUN --mount=type=ssh

    /// The step gets a proxy socket made with the mount's owner and mode (0600 root by default), so
    /// a step running as another user reaches the agent only when the mount says so.
    @Test func sshMountIsAProxyWithTheMountsOwnerAndMode() throws {
        let scratch = try TemporaryDirectory.scratch("ssh-owner")
        let agent = try SSHAgent(in: scratch)
        defer { withExtendedLifetime(agent) {} }
        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN echo "app:x:1500:1500::/home/app:/bin/sh" >> /etc/passwd
                USER app
                RUN --mount=type=ssh,uid=1500,gid=1500 stat -c '%a %u:%g %F' "$SSH_AUTH_SOCK" > /tmp/socket \\
                 && python3 - > /tmp/agent <<'EOF'
                \(SSHAgent.probe)
                EOF
                RUN --mount=type=ssh stat -c '%a %u:%g' "$SSH_AUTH_SOCK" > /tmp/default-socket \\
                 && (python3 -c "import os, socket; socket.socket(socket.AF_UNIX).connect(os.environ['SSH_AUTH_SOCK'])" \\
                     2> /tmp/default-error || echo refused > /tmp/default)
                """
            ], in: context)
        let built = try Imagekit.run(
            ["build", "-t", "ssh-owner:1", "--progress", "plain", "--ssh", "default", context.path], store: store,
            environment: ["SSH_AUTH_SOCK": agent.socket], directory: scratch.url)
        try #require(built.status == 0, "\(built.stderr)")
        let image = try BuildTests.unpack(store, "ssh-owner:1", scratch: scratch)
        #expect(image.read("tmp/socket") == "600 1500:1500 socket\n")
        #expect(image.read("tmp/agent") == "/run/buildkit/ssh_agent.0 12 1\n")
        #expect(image.read("tmp/default-socket") == "600 0:0\n")
        #expect(image.read("tmp/default") == "refused\n")
        #expect(
            image.read("tmp/default-error")?.contains("PermissionError") == true,
            "\(image.read("tmp/default-error") ?? "")")
    }

    @Test func sshMountForwardsTheAgentGivenWithSSHDefault() throws {
        let scratch = try TemporaryDirectory.scratch("compat-ssh")
        let agent = try SSHAgent(in: scratch)
        defer { withExtendedLifetime(agent) {} }
        let socket = agent.socket
        let store = scratch.path("store")
        let base = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                RUN --mount=type=ssh python3 <<'EOF' > /agent
                \(SSHAgent.probe)
                EOF
                """
            ], in: context)
        let built = try Imagekit.run(
            ["build", "-t", "ssh:1", "--progress", "plain", "--ssh", "default", context.path], store: store,
            environment: ["SSH_AUTH_SOCK": socket], directory: scratch.url)
        try #require(built.status == 0, "\(built.stderr)")
        let unpacked = try BuildTests.unpack(store, "ssh:1", scratch: scratch)
        #expect(
            unpacked.read("agent")
                == "/run/buildkit/ssh_agent.0 12 1\n")
        let baseLayers = Set(try RunTests.manifestLayers(store, base))
        for layer in try RunTests.manifestLayers(store, "ssh:1") where !baseLayers.contains(layer) {
            #expect(try RunTests.layerPaths(store, layer) == ["agent"])
        }

        // A required agent that was not given is an input error before anything runs.
        try BuildTests.write(
            ["Dockerfile": "FROM debian-python:bookworm\nRUN --mount=type=ssh,id=deploy,required=true true\n"],
            in: context)
        let missing = try Imagekit.run(
            ["build", "-t", "ssh:2", "--ssh", "default", context.path], store: store,
            environment: ["SSH_AUTH_SOCK": socket], directory: scratch.url)
        #expect(missing.status == 2, "\(missing.stderr)")
        #expect(
            missing.stderr.contains("ssh agent 'deploy' is required: pass it with --ssh deploy"), "\(missing.stderr)")
    }

    // MARK: ADD of a git repository

    @Test func addFromGitClonesTheRefWithoutItsGitDirectory() throws {
        let scratch = try TemporaryDirectory.scratch("compat-addgit")
        let work = scratch.url.appendingPathComponent("work")
        try BuildTests.write(
            ["README": "v1\n", "bin/tool": "#!/bin/sh\necho tool\n", "sub/inner.txt": "inner\n"], in: work)
        func git(_ args: [String], in dir: URL) throws {
            let result = try run(
                "/usr/bin/git",
                ["-C", dir.path, "-c", "user.name=imagekit", "-c", "user.email=test@imagekit.invalid"] + args)
            try #require(result.status == 0, "git \(args): \(result.stderr)")
        }
        try git(["init", "--quiet", "--initial-branch=main"], in: work)
        try #require(chmod(work.appendingPathComponent("bin/tool").path, 0o755) == 0)
        try FileManager.default.createSymbolicLink(
            atPath: work.appendingPathComponent("link").path, withDestinationPath: "README")
        try git(["add", "."], in: work)
        try git(["commit", "--quiet", "-m", "v1"], in: work)
        try git(["tag", "v1"], in: work)
        try BuildTests.write(["README": "v2\n"], in: work)
        try git(["commit", "--quiet", "-am", "v2"], in: work)
        // A bare copy served over dumb HTTP by a local server.
        let served = scratch.url.appendingPathComponent("served")
        try FileManager.default.createDirectory(at: served, withIntermediateDirectories: true)
        try #require(
            try run(
                "/usr/bin/git",
                ["clone", "--quiet", "--bare", work.path, served.appendingPathComponent("repo.git").path]
            ).status == 0)
        try git(["update-server-info"], in: served.appendingPathComponent("repo.git"))
        let server = try PortServer.files(in: served)
        try #require(server.port > 0)

        let store = scratch.path("store")
        _ = try Fixture.importBase(store: store)
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM debian-python:bookworm
                ADD \(server.url("repo.git")) /src/head/
                ADD \(server.url("repo.git"))#v1 /src/v1
                ADD \(server.url("repo.git"))#v1:sub /src/sub
                RUN /src/v1/bin/tool > /ran
                """
            ], in: context)
        let built = try BuildTests.build(context, tag: "git:1", store: store, scratch: scratch)
        let digest = built.trimmed
        let unpacked = try BuildTests.unpack(store, "git:1", scratch: scratch)
        #expect(unpacked.read("src/head/README") == "v2\n")
        #expect(unpacked.read("src/v1/README") == "v1\n")
        #expect(unpacked.read("src/sub/inner.txt") == "inner\n")
        #expect(!unpacked.exists("src/sub/README"))
        #expect(unpacked.read("ran") == "tool\n")
        #expect(unpacked.owner("src/v1/bin/tool") == "0:0 755")
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(
                atPath: unpacked.url("src/v1/link").path)) == "README")
        #expect(!unpacked.exists("src/v1/.git"))

        // Reproducible: the same repository in another empty store gives the same image.
        let store2 = scratch.path("store2")
        _ = try Fixture.importBase(store: store2)
        let again = try BuildTests.build(context, tag: "git:1", store: store2, scratch: scratch)
        #expect(
            again.trimmed == digest,
            "\(RunTests.layerDifferences(store, store2, image: "git:1"))")

        // --keep-git-dir: the checkout keeps a working .git at the ref, without reflogs, and the
        // build says the layer may differ between clones.
        try BuildTests.write(
            [
                "Dockerfile":
                    "FROM debian-python:bookworm\nADD --keep-git-dir=true \(server.url("repo.git"))#v1 /src/kept\n"
            ],
            in: context)
        let kept = try Imagekit.run(
            ["build", "-t", "git:kept", "--progress", "plain", context.path], store: store, directory: scratch.url)
        try #require(kept.status == 0, "\(kept.stderr)")
        #expect(kept.stderr.contains("ADD --keep-git-dir"), "\(kept.stderr)")
        let withGit = try BuildTests.unpack(store, "git:kept", scratch: scratch)
        let v1 = try run("/usr/bin/git", ["-C", work.path, "rev-parse", "v1^{commit}"]).checked().trimmed
        let checkout = withGit.url("src/kept").path
        #expect(try run("/usr/bin/git", ["-C", checkout, "rev-parse", "HEAD"]).checked().trimmed == v1)
        #expect(try run("/usr/bin/git", ["-C", checkout, "status", "--porcelain"]).checked().trimmed == "")
        #expect(!withGit.exists("src/kept/.git/logs"))

        // A ref the repository does not have stops the build and says which.
        try BuildTests.write(
            ["Dockerfile": "FROM debian-python:bookworm\nADD \(server.url("repo.git"))#no-such-tag /src/\n"],
            in: context)
        let missing = try Imagekit.run(["build", "-t", "git:2", context.path], store: store, directory: scratch.url)
        #expect(missing.status == 3, "\(missing.stderr)")
        #expect(
            missing.stderr.contains(
                "Dockerfile:2:5: cannot download \(server.url("repo.git"))#no-such-tag: no branch, tag or commit `no-such-tag` in \(server.url("repo.git"))"
            ), "\(missing.stderr)")
    }

    // MARK: COPY --exclude

    @Test func copyExcludeFiltersRelativeToEachSource() throws {
        let scratch = try TemporaryDirectory.scratch("compat-exclude")
        let store = scratch.path("store")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM scratch
                COPY --exclude=*.txt --exclude=node_modules src /src/
                COPY --exclude=*.txt hom* /top/
                ARG PATTERN=**/*.txt
                COPY --exclude=$PATTERN src /all/
                """,
                "src/a.txt": "a", "src/b.go": "b", "src/sub/c.txt": "c", "src/node_modules/x.js": "x",
                "home.txt": "h", "homer.md": "m",
            ], in: context)
        try BuildTests.build(context, tag: "exclude:1", store: store, scratch: scratch)
        let unpacked = try BuildTests.unpack(store, "exclude:1", scratch: scratch)
        let listed = try run(
            "/bin/sh", ["-c", "cd \"$0\" && find src top all -printf '%p %y\\n' | sort", unpacked.rootfs.path]
        )
        .lines
        #expect(
            listed == [
                "all d", "all/b.go f", "all/node_modules d", "all/node_modules/x.js f", "all/sub d",
                "src d", "src/b.go f", "src/sub d", "src/sub/c.txt f",
                "top d", "top/homer.md f",
            ], "\(listed)")
    }

    // MARK: COPY --parents

    @Test func copyParentsKeepsSourceDirectoriesBelowThePivot() throws {
        let scratch = try TemporaryDirectory.scratch("compat-parents")
        let store = scratch.path("store")
        let context = scratch.url.appendingPathComponent("ctx")
        try BuildTests.write(
            [
                "Dockerfile": """
                FROM scratch
                COPY --parents a/x.txt b/*.md /p/
                COPY --parents ./src/./pkg /q/
                COPY --parents src/pkg/f.go /r
                """,
                "a/x.txt": "x", "b/r.md": "r", "b/skip.txt": "s", "src/pkg/f.go": "f", "src/pkg/deep/g.go": "g",
            ], in: context)
        try BuildTests.build(context, tag: "parents:1", store: store, scratch: scratch)
        let unpacked = try BuildTests.unpack(store, "parents:1", scratch: scratch)
        let listed = try run(
            "/bin/sh", ["-c", "cd \"$0\" && find p q r -printf '%p %y\\n' | sort", unpacked.rootfs.path]
        ).lines
        #expect(
            listed == [
                "p d", "p/a d", "p/a/x.txt f", "p/b d", "p/b/r.md f",
                "q d", "q/pkg d", "q/pkg/deep d", "q/pkg/deep/g.go f", "q/pkg/f.go f",
                "r d", "r/src d", "r/src/pkg d", "r/src/pkg/f.go f",
            ], "\(listed)")

        // ADD takes it too (the same flag in BuildKit).
        try BuildTests.write(["Dockerfile": "FROM scratch\nADD --parents a/x.txt b/*.md /p/\n"], in: context)
        try BuildTests.build(context, tag: "parents:2", store: store, scratch: scratch)
        let added = try BuildTests.unpack(store, "parents:2", scratch: scratch)
        let addedList = try run(
            "/bin/sh", ["-c", "cd \"$0\" && find p -printf '%p %y\\n' | sort", added.rootfs.path]
        ).lines
        #expect(addedList == ["p d", "p/a d", "p/a/x.txt f", "p/b d", "p/b/r.md f"], "\(addedList)")
    }
}
