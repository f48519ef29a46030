import Testing

@testable import Dockerfile

private let environment: [String: String] = [
    "A": "a", "B": "b", "EMPTY": "", "P": "usr/local/bin", "SPACE": "x y",
]

private func expand(_ text: String, escape: Character = "\\") throws -> String {
    let word = Word(text, location: SourceLocation(file: "Dockerfile", line: 1, column: 1))
    return try VariableExpander(escape: escape).expand(word) { environment[$0] }
}

@Suite struct ExpansionTests {
    static let table: [(String, String)] = [
        ("$A", "a"),
        ("${A}", "a"),
        ("${A}b", "ab"),
        ("$Ab", ""),
        ("$A/$B", "a/b"),
        ("${A}${A}", "aa"),
        ("${A}:${UNSET}", "a:"),
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${A:-def}", "a"),
        ("${A-def}", "a"),
        ("${A:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${UNSET:-}", ""),
        ("${UNSET:-${B}}", "b"),
        ("${UNSET:-$A$B}", "ab"),
        ("${UNSET:-a b}", "a b"),
        ("\"${UNSET:-x y}\"", "x y"),
        ("'$A'", "$A"),
        ("'${A}'", "${A}"),
        ("\"$A\"", "a"),
        ("\"'$A'\"", "'a'"),
        ("'\"$A\"'", "\"$A\""),
        ("\\$A", "$A"),
        ("\\\\$A", "\\a"),
        ("a\\ b", "a b"),
        ("\"a\\\"b\"", "a\"b"),
        ("\"a\\b\"", "a\\b"),
        ("\"a\\$A\"", "a$A"),
        ("'a\\b'", "a\\b"),
        ("$", "$"),
        ("a$", "a$"),
        ("$1", ""),
        ("abc\\", "abc"),
        ("x\"\"y", "xy"),
        ("$SPACE", "x y"),
        ("${P#*/}", "local/bin"),
        ("${P##*/}", "bin"),
        ("${P%/*}", "usr/local"),
        ("${P%%/*}", "usr"),
        ("${UNSET#*/}", ""),
        ("${A:?must be set}", "a"),
    ]

    @Test(arguments: table)
    func expands(_ input: String, _ expected: String) throws {
        #expect(try expand(input) == expected, "\(input)")
    }

    @Test func tableHasEnoughCases() {
        #expect(Self.table.count >= 30)
    }

    @Test func backtickEscape() throws {
        #expect(try expand("`$A", escape: "`") == "$A")
        #expect(try expand("c:\\path\\$A", escape: "`") == "c:\\path\\a")
        #expect(try expand("a` b", escape: "`") == "a b")
        #expect(try expand("\"q`\"q\"", escape: "`") == "q\"q")
    }

    static let errors: [(String, Int, String)] = [
        ("${A", 1, "bad substitution"),
        ("x${", 2, "bad substitution"),
        ("${}", 1, "bad substitution"),
        ("${:-x}", 1, "bad substitution"),
        ("ab${A:x}", 3, "unsupported modifier"),
        ("${A!}", 1, "unsupported modifier"),
        ("${UNSET:-oops", 1, "missing `}`"),
        ("'open", 1, "unterminated single quote"),
        ("ok \"open", 4, "unterminated double quote"),
        ("${UNSET:?needs a value}", 1, "UNSET: needs a value"),
        ("${EMPTY:?}", 1, "EMPTY: is not allowed to be empty"),
        ("${UNSET?}", 1, "UNSET: is not allowed to be unset"),
    ]

    @Test(arguments: errors)
    func rejects(_ input: String, _ column: Int, _ fragment: String) {
        do {
            _ = try expand(input)
            Issue.record("\(input) expanded without error")
        } catch let error as DockerfileError {
            #expect(error.location.column == column, "\(input): \(error)")
            #expect(error.description.contains(fragment), "\(input): \(error)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func errorsPointIntoContinuedLines() throws {
        let text = "FROM alpine\nCOPY a \\\n     ${B /x\n"
        #expect(
            throws: DockerfileError.expansion(
                SourceLocation(file: "Dockerfile", line: 3, column: 6),
                "bad substitution: missing `}` in `${B`; write ${B}")
        ) {
            try DockerfileParser().parse(text)
        }
    }

    @Test func shellFormInstructionsAreNotExpanded() throws {
        let parsed = try DockerfileParser().parse(
            "FROM alpine\nRUN echo $HOME ${X:-y}\nCMD echo $A\nENTRYPOINT [\"$B\"]\n")
        let graph = try StageGraph(parsed)
        let scope = graph.scope(baseEnvironment: ["HOME=/root", "A=1", "B=2"])
        let run = try scope.resolve(parsed.instructions[1])
        #expect(run == .run(RunInstruction(command: .shell("echo $HOME ${X:-y}"))))
        #expect(try scope.resolve(parsed.instructions[2]) == .cmd(.shell("echo $A")))
        #expect(try scope.resolve(parsed.instructions[3]) == .entrypoint(.exec(["$B"])))
    }

    @Test func onbuildTriggersAreNotExpanded() throws {
        let parsed = try DockerfileParser().parse("FROM alpine\nARG V=1\nONBUILD COPY $V /x\n")
        var scope = try StageGraph(parsed).scope()
        try scope.apply(parsed.instructions[1])
        #expect(
            try scope.resolve(parsed.instructions[2]) == .onbuild(OnBuildTrigger(text: "COPY $V /x", keyword: .copy)))
    }
}
