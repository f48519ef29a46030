import Testing

@testable import Dockerfile

/// Heredoc markers and bodies as BuildKit's parser reads them (`parseHeredoc`, `heredocsFromLine`).
@Suite struct HeredocTests {
    @Test(arguments: [
        ("<<EOF", "EOF", true, false, 0), ("<<-EOF", "EOF", true, true, 0), ("<<\"EOF\"", "EOF", false, false, 0),
        ("<<'E O'", "E O", false, false, 0), ("<<-'EOT'", "EOT", false, true, 0), ("3<<EOF", "EOF", true, false, 3),
        ("<<E\"O\"F", "EOF", false, false, 0), ("<<\\EOF", "EOF", true, false, 0),
    ])
    func markers(_ word: String, _ name: String, _ expand: Bool, _ chomp: Bool, _ fd: Int) throws {
        let marker = try #require(Heredoc.marker(Array(word), escape: "\\"))
        #expect(marker.name == name && marker.expand == expand && marker.chomp == chomp && marker.fd == fd)
    }

    @Test(arguments: ["<<", "<<-", "a<<EOF", "<<EOF<", "<<'EOF", "\"<<EOF\"", "<EOF", "<<<EOF"])
    func notMarkers(_ word: String) {
        #expect(Heredoc.marker(Array(word), escape: "\\") == nil)
    }

    @Test func bodiesFollowTheInstructionInOrder() throws {
        let parsed = try DockerfileParser().parse(
            "FROM alpine\nRUN <<A cat >a && \\\n  <<-B cat >b\nx \\\n# kept\nA\n\ty\n\tB\nENV k=v\n")
        #expect(parsed.instructions.count == 3)
        guard case .run(let run) = parsed.instructions[1].instruction else {
            Issue.record("not RUN")
            return
        }
        #expect(run.heredocs.map(\.name) == ["A", "B"])
        #expect(run.heredocs[0].content == "x \\\n# kept\n")
        #expect(run.heredocs[1].content == "\ty\n" && run.heredocs[1].chompedContent == "y\n")
        #expect(run.heredocs[1].location == SourceLocation(file: "Dockerfile", line: 3, column: 3))
        #expect(parsed.instructions[1].endLine == 8)
        #expect(parsed.instructions[2].location.line == 9)
    }

    @Test func otherInstructionsHaveNoHeredocs() throws {
        let parsed = try DockerfileParser().parse("FROM alpine\nLABEL a=<<EOF\nENV b=c\n")
        #expect(parsed.instructions.count == 3)
    }

    @Test func copyBodiesExpandUnlessTheDelimiterIsQuoted() throws {
        let text =
            "FROM alpine\nARG V=1\nCOPY <<a <<'b' <<-c /d/\n$V ${V:-x} '$V' \"$V\" \\$V it's\na\n$V\nb\n\t$V\nc\n"
        let graph = try StageGraph(try DockerfileParser().parse(text))
        var scope = graph.scope()
        let instructions = graph.stages[0].instructions
        try scope.apply(instructions[0])
        guard case .copy(let copy) = try scope.resolve(instructions[1]) else {
            Issue.record("not COPY")
            return
        }
        #expect(copy.sources.isEmpty)
        #expect(copy.heredocs.map(\.content) == ["1 1 '$V' \"1\" \\$V it's\n", "$V\n", "1\n"])
    }
}
