import Testing

@testable import Dockerfile

@Suite struct ParserTests {
    @Test(arguments: [
        ("30s", Int64(30_000_000_000)), ("1m30s", 90_000_000_000), ("500ms", 500_000_000), ("1.5h", 5_400_000_000_000),
        ("2h45m", 9_900_000_000_000), ("10us", 10_000), ("10µs", 10_000), ("7ns", 7), ("0", 0), ("-2s", -2_000_000_000),
    ])
    func goDurations(_ text: String, _ nanos: Int64) {
        #expect(GoDuration.parse(text) == nanos)
    }

    @Test(arguments: ["", "30", "s", "1x", "1.s.", "--1s", "1m 30s"])
    func badGoDurations(_ text: String) {
        #expect(GoDuration.parse(text) == nil)
    }

    @Test func mountDefaults() throws {
        let parsed = try DockerfileParser().parse(
            """
            FROM alpine
            RUN --mount=type=secret,target=/root/.npmrc --mount=type=cache,target=/c --mount=source=x,target=/b npm ci
            RUN --mount=type=secret,id=tok --mount=type=cache,target=/c,ro,id=shared true
            RUN --mount=type=secret,env=API_TOKEN --mount=type=secret,id=k,env=K,target=/k,mode=0440,uid=7 true
            """)
        guard case .run(let first) = parsed.instructions[1].instruction,
            case .run(let second) = parsed.instructions[2].instruction,
            case .run(let third) = parsed.instructions[3].instruction
        else {
            Issue.record("not RUN")
            return
        }
        #expect(first.mounts[0].id == ".npmrc")
        #expect(first.mounts[0].effectiveTarget == "/root/.npmrc")
        #expect(first.mounts[0].readOnly)
        #expect(first.mounts[1].readOnly == false)
        #expect(first.mounts[1].effectiveCacheID == "/c")
        #expect(first.mounts[2].type == .bind && first.mounts[2].readOnly)
        #expect(second.mounts[0].effectiveTarget == "/run/secrets/tok")
        #expect(second.mounts[1].readOnly && second.mounts[1].effectiveCacheID == "shared")
        // env= alone: the id is the variable's name, and there is no file (BuildKit).
        #expect(third.mounts[0].id == "API_TOKEN" && third.mounts[0].effectiveTarget == nil)
        #expect(third.mounts[1].effectiveTarget == "/k" && third.mounts[1].env == "K")
        #expect(third.mounts[1].mode == 0o440 && third.mounts[1].uid == 7)
    }

    @Test(arguments: ["../x", "/../x", "a/../../x", "./..", "src=.."])
    func bindSourcesCannotLeaveTheirRoot(_ source: String) {
        let field = source.hasPrefix("src=") ? source : "source=\(source)"
        do {
            _ = try DockerfileParser().parse("FROM alpine\nRUN --mount=type=bind,\(field),target=/x true\n")
            Issue.record("\(source) was accepted")
        } catch {
            #expect("\(error)".contains("Dockerfile:2:") && "\(error)".contains("leaves the build context"), "\(error)")
        }
    }

    @Test func bindSourcesMayClimbInsideTheirRoot() throws {
        let parsed = try DockerfileParser().parse(
            "FROM alpine\nRUN --mount=type=bind,source=a/../b,target=/x --mount=type=cache,target=/c,id=../x true\n")
        guard case .run(let run) = parsed.instructions[1].instruction else { Issue.record("not a RUN"); return }
        #expect(run.mounts[0].source == "a/../b" && run.mounts[1].id == "../x")
    }

    @Test func mountValuesExpandWhenResolved() throws {
        let parsed = try DockerfileParser().parse(
            "FROM alpine\nARG DIR=/cache UID=1000\nRUN --mount=type=cache,target=$DIR,uid=$UID true\n")
        var scope = try StageGraph(parsed).scope()
        try scope.apply(parsed.instructions[1])
        guard case .run(let run) = try scope.resolve(parsed.instructions[2]) else {
            Issue.record("not RUN")
            return
        }
        #expect(run.mounts[0].target == "/cache")
        #expect(run.mounts[0].uid == 1000)
    }

    @Test func parserDirectivesOnlyAtTheTop() throws {
        let parsed = try DockerfileParser().parse(
            "# syntax=docker/dockerfile:1\n# Escape = `\nFROM alpine\nRUN echo \\\n")
        #expect(parsed.directives.escape == "`")
        #expect(parsed.directives.syntax == "docker/dockerfile:1")
        guard case .run(let run) = parsed.instructions[1].instruction else {
            Issue.record("not RUN")
            return
        }
        #expect(run.command == .shell("echo \\"))
        let late = try DockerfileParser().parse("FROM alpine\n# escape=`\nRUN echo `\n")
        #expect(late.directives.escape == "\\")
    }

    @Test func instructionTextAndEndLine() throws {
        let parsed = try DockerfileParser(file: "app.Dockerfile").parse(
            "FROM alpine\nRUN a \\\n  && b \\\n  && c\nCMD x\n")
        let run = parsed.instructions[1]
        #expect(run.text == "RUN a   && b   && c")
        #expect(run.location == SourceLocation(file: "app.Dockerfile", line: 2, column: 1))
        #expect(run.endLine == 4)
        #expect(parsed.instructions[2].location.line == 5)
    }

    @Test func stageOrderForTargets() throws {
        let parsed = try DockerfileParser().parse(
            """
            FROM alpine AS deps
            FROM alpine AS tools
            FROM deps AS build
            COPY --from=tools /t /t
            FROM alpine AS docs
            FROM alpine AS final
            COPY --from=build /app /app
            COPY --from=2 /b /b
            RUN --mount=type=bind,from=docs,target=/d true
            """)
        let graph = try StageGraph(parsed)
        #expect(graph.stages[2].base == .stage(0))
        #expect(graph.stages[4].dependencies == [2, 3])
        #expect(try graph.stages(neededFor: nil).map(\.index) == [0, 1, 2, 3, 4])
        #expect(try graph.stages(neededFor: "build").map(\.displayName) == ["deps", "tools", "build"])
        #expect(try graph.stages(neededFor: "DOCS").map(\.index) == [3])
        #expect(
            try graph.reference("alpine:3.20", at: parsed.instructions[0].location, inStage: 4) == .image("alpine:3.20")
        )
        #expect(try graph.reference("BUILD", at: parsed.instructions[0].location, inStage: 4) == .stage(2))
    }

    @Test func fromOwnNameIsAnImage() throws {
        let graph = try StageGraph(try DockerfileParser().parse("FROM node AS node\nFROM node\n"))
        #expect(graph.stages[0].base == .image("node"))
        #expect(graph.stages[1].base == .stage(0))
    }
}
