import Testing

@testable import Dockerfile

/// Walks a stage's instructions up to (not including) the first RUN and returns the scope there.
private func scope(
    _ text: String, stage: Int = 0, buildArgs: [String: String] = [:],
    baseEnvironment: [String] = [], untilLine: Int? = nil
) throws -> VariableScope {
    let graph = try StageGraph(try DockerfileParser().parse(text), buildArgs: buildArgs)
    var scope = graph.scope(baseEnvironment: baseEnvironment)
    for located in graph.stages[stage].instructions {
        if let untilLine, located.location.line >= untilLine { break }
        try scope.apply(located)
    }
    return scope
}

private func resolved(_ text: String, line: Int, buildArgs: [String: String] = [:]) throws -> Instruction {
    let parsed = try DockerfileParser().parse(text)
    let graph = try StageGraph(parsed, buildArgs: buildArgs)
    for stage in graph.stages {
        var scope = graph.scope()
        for located in stage.instructions {
            if located.location.line == line { return try scope.resolve(located) }
            try scope.apply(located)
        }
    }
    throw DockerfileError.syntax(SourceLocation(file: "test", line: line, column: 1), "no instruction at that line")
}

@Suite struct ArgEnvTests {
    // Docker reference, "Using ARG variables": ENV overrides an ARG of the same name.
    static let contImgVer = """
        FROM ubuntu
        ARG CONT_IMG_VER
        ENV CONT_IMG_VER=v1.0.0
        RUN echo $CONT_IMG_VER
        """

    @Test func envOverridesArg() throws {
        let s = try scope(Self.contImgVer, buildArgs: ["CONT_IMG_VER": "v2.0.1"])
        #expect(s.lookup("CONT_IMG_VER") == "v1.0.0")
        #expect(s.runArgs.isEmpty)
        #expect(s.runEnvironment == ["CONT_IMG_VER=v1.0.0"])
    }

    static let contImgVerDefault = """
        FROM ubuntu
        ARG CONT_IMG_VER
        ENV CONT_IMG_VER=${CONT_IMG_VER:-v1.0.0}
        RUN echo $CONT_IMG_VER
        """

    @Test func envTakesArgWithDefault() throws {
        #expect(
            try scope(Self.contImgVerDefault, buildArgs: ["CONT_IMG_VER": "v2.0.1"]).lookup("CONT_IMG_VER") == "v2.0.1")
        #expect(try scope(Self.contImgVerDefault).lookup("CONT_IMG_VER") == "v1.0.0")
        #expect(try scope(Self.contImgVerDefault).environment == ["CONT_IMG_VER=v1.0.0"])
    }

    // "Scope": a variable is usable only from the line of its ARG on.
    static let username = """
        FROM busybox
        USER ${username:-some_user}
        ARG username
        USER $username
        """

    @Test func argScopeStartsAtItsLine() throws {
        #expect(
            try resolved(Self.username, line: 2, buildArgs: ["username": "what_user"])
                == .user(Word("some_user", location: SourceLocation(file: "Dockerfile", line: 2, column: 6))))
        guard case .user(let w) = try resolved(Self.username, line: 4, buildArgs: ["username": "what_user"]) else {
            Issue.record("not a USER")
            return
        }
        #expect(w.text == "what_user")
    }

    static let settings = """
        FROM busybox
        ARG SETTINGS
        RUN ./run/setup $SETTINGS

        FROM busybox
        RUN ./run/other $SETTINGS
        """

    @Test func argEndsWithItsStage() throws {
        let first = try scope(Self.settings, stage: 0, buildArgs: ["SETTINGS": "s"])
        #expect(first.runArgs.map(\.name) == ["SETTINGS"])
        let second = try scope(Self.settings, stage: 1, buildArgs: ["SETTINGS": "s"])
        #expect(second.lookup("SETTINGS") == nil)
        #expect(second.runArgs.isEmpty)
    }

    // "Understand how ARG and FROM interact".
    static let codeVersion = """
        ARG CODE_VERSION=latest
        FROM base:${CODE_VERSION}
        CMD  /code/run-app

        FROM extras:${CODE_VERSION}
        CMD  /code/run-extras
        """

    @Test func globalArgInFrom() throws {
        let graph = try StageGraph(try DockerfileParser().parse(Self.codeVersion))
        #expect(graph.stages.map(\.base) == [.image("base:latest"), .image("extras:latest")])
        let overridden = try StageGraph(
            try DockerfileParser().parse(Self.codeVersion), buildArgs: ["CODE_VERSION": "1.2"])
        #expect(overridden.stages.map(\.base) == [.image("base:1.2"), .image("extras:1.2")])
        #expect(try overridden.unconsumedBuildArgs(neededFor: nil).isEmpty)
    }

    static let version = """
        ARG VERSION=latest
        FROM busybox:$VERSION
        ARG VERSION
        RUN echo $VERSION > image_version
        """

    @Test func globalArgRedeclaredInStage() throws {
        #expect(try scope(Self.version).lookup("VERSION") == "latest")
        #expect(try scope(Self.version, buildArgs: ["VERSION": "1.36"]).lookup("VERSION") == "1.36")
        // Without the re-declaration the stage does not see it.
        #expect(try scope(Self.version, untilLine: 3).lookup("VERSION") == nil)
        #expect(try scope(Self.version).runArgs.map(\.value) == ["latest"])
    }

    @Test func buildArgOverridesDefault() throws {
        let text = "FROM alpine\nARG MODE=debug\nRUN make $MODE\n"
        #expect(try scope(text).lookup("MODE") == "debug")
        #expect(try scope(text, buildArgs: ["MODE": "release"]).lookup("MODE") == "release")
    }

    @Test func argWithoutValueIsUnset() throws {
        let s = try scope("FROM alpine\nARG X\n")
        #expect(s.lookup("X") == nil)
        #expect(s.runArgs.isEmpty)
        #expect(try s.expand(Word("${X-unset}", location: SourceLocation(file: "f", line: 1, column: 1))) == "unset")
    }

    @Test func envAlwaysWinsEvenWhenArgComesLater() throws {
        let s = try scope("FROM alpine\nENV X=env\nARG X=arg\n")
        #expect(s.lookup("X") == "env")
        #expect(s.runArgs.isEmpty)
    }

    // "Environment replacement": all words of one ENV are expanded before any is set.
    @Test func envPairsSeePreviousValues() throws {
        let s = try scope("FROM busybox\nENV abc=hello\nENV abc=bye def=$abc\nENV ghi=$abc\n")
        #expect(s.environment == ["abc=bye", "def=hello", "ghi=bye"])
    }

    @Test func baseImageEnvironmentIsVisibleAndReplacedInPlace() throws {
        let s = try scope(
            "FROM debian\nENV PATH=/opt/bin:$PATH LANG=C.UTF-8\n",
            baseEnvironment: ["PATH=/usr/bin:/bin", "TERM=xterm"])
        #expect(s.environment == ["PATH=/opt/bin:/usr/bin:/bin", "TERM=xterm", "LANG=C.UTF-8"])
    }

    @Test func legacyEnvFormKeepsTheRestOfTheLine() throws {
        let s = try scope("FROM debian\nENV GREETING hello   big world\n")
        #expect(s.lookup("GREETING") == "hello   big world")
    }

    @Test func proxyArgsReachRunWithoutDeclarationButNotExpansion() throws {
        let s = try scope(
            "FROM alpine\nARG A=1\n", buildArgs: ["HTTP_PROXY": "http://proxy:3128", "no_proxy": "localhost"])
        #expect(s.lookup("HTTP_PROXY") == nil)
        #expect(s.environment.isEmpty)
        #expect(s.runArgs.map(\.name) == ["A", "HTTP_PROXY", "no_proxy"])
        #expect(s.runEnvironment == ["A=1", "HTTP_PROXY=http://proxy:3128", "no_proxy=localhost"])
    }

    @Test func platformArgsInFromAndAfterDeclaration() throws {
        let text = "FROM --platform=$BUILDPLATFORM golang AS build\nARG TARGETOS TARGETARCH\nRUN true\n"
        let graph = try StageGraph(try DockerfileParser().parse(text))
        #expect(graph.stages[0].platform == "linux/amd64")
        let s = try scope(text)
        #expect(s.lookup("TARGETOS") == "linux")
        #expect(s.lookup("TARGETARCH") == "amd64")
        #expect(s.lookup("TARGETPLATFORM") == nil)
        #expect(s.runArgs.map(\.name) == ["TARGETOS", "TARGETARCH"])
    }

    @Test func unconsumedBuildArgs() throws {
        let parsed = try DockerfileParser().parse(
            "ARG G\nFROM alpine AS a\nARG USED\nFROM alpine AS b\nARG ONLY_IN_B\n")
        let graph = try StageGraph(
            parsed,
            buildArgs: [
                "G": "1", "USED": "2", "ONLY_IN_B": "3", "TYPO": "4", "HTTPS_PROXY": "p", "TARGETARCH": "arm64",
            ])
        #expect(try graph.unconsumedBuildArgs(neededFor: "a") == ["ONLY_IN_B", "TYPO"])
        #expect(try graph.unconsumedBuildArgs(neededFor: nil) == ["TYPO", "USED"])
    }

    @Test func quotedEnvAndLabelValues() throws {
        let text =
            "FROM busybox\nENV MY_NAME=\"John Doe\" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy\nLABEL \"com.example.vendor\"=\"ACME Incorporated\"\n"
        let s = try scope(text)
        #expect(s.environment == ["MY_NAME=John Doe", "MY_DOG=Rex The Dog", "MY_CAT=fluffy"])
        guard case .label(let pairs) = try resolved(text, line: 4) else {
            Issue.record("not a LABEL")
            return
        }
        #expect(pairs.map { [$0.key.text, $0.value.text] } == [["com.example.vendor", "ACME Incorporated"]])
    }
}
