import Foundation
import TestSupport
import Testing

@testable import Dockerfile

@Suite struct CopySourcesTests {
    let context: TemporaryDirectory
    var root: URL { context.url }

    init() throws {
        context = try TemporaryDirectory(prefix: "imagekit-context")
        for path in [
            "home.txt", "homer.md", ".hidden", "src/a.go", "src/b.go", "src/sub/c.go", "docs/README.md", "star*",
            "file1", "file2", "filex",
        ] {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(path.utf8).write(to: url)
        }
    }

    private func word(_ text: String) -> Word {
        Word(text, location: SourceLocation(file: "Dockerfile", line: 4, column: 6))
    }

    @Test func wildcardsMatchOneComponent() throws {
        defer { context.remove() }
        #expect(try CopySources.expand(word("hom*"), in: root) == ["home.txt", "homer.md"])
        #expect(try CopySources.expand(word("src/*.go"), in: root) == ["src/a.go", "src/b.go"])
        #expect(try CopySources.expand(word("*/*.go"), in: root) == ["src/a.go", "src/b.go"])
        #expect(try CopySources.expand(word("file[0-9]"), in: root) == ["file1", "file2"])
        #expect(try CopySources.expand(word("file?"), in: root) == ["file1", "file2", "filex"])
        #expect(try CopySources.expand(word(".h*"), in: root) == [".hidden"])
        #expect(try CopySources.expand(word("star\\*"), in: root) == ["star*"])
    }

    @Test func literalPathsAreCleanedInsideTheContext() throws {
        defer { context.remove() }
        #expect(try CopySources.expand(word("/src/../src/a.go"), in: root) == ["src/a.go"])
        #expect(try CopySources.expand(word("../../src"), in: root) == ["src"])
        #expect(try CopySources.expand(word("."), in: root) == ["."])
    }

    @Test func missingSourcesAreErrors() throws {
        defer { context.remove() }
        #expect(throws: DockerfileError.self) { try CopySources.expand(word("nope.txt"), in: root) }
        do {
            _ = try CopySources.expand(word("*.rs"), in: root)
            Issue.record("no error")
        } catch let error as DockerfileError {
            #expect(error.description.hasPrefix("Dockerfile:4:6: no source files were specified"))
        }
    }

    @Test func excludedSourcesNameTheIgnoreLine() throws {
        defer { context.remove() }
        let ignore = try DockerIgnore(parsing: "# docs\n\n*.md\ndocs\n!docs/keep\n")
        #expect(try CopySources.expand(word("hom*"), in: root, ignore: ignore) == ["home.txt"])
        // docs is excluded, but an exception could re-include something inside, so it stays for the walker.
        #expect(try CopySources.expand(word("docs"), in: root, ignore: ignore) == ["docs"])
        do {
            _ = try CopySources.expand(word("homer.md"), in: root, ignore: ignore)
            Issue.record("no error")
        } catch let error as DockerfileError {
            #expect(
                error.description
                    == "Dockerfile:4:6: `homer.md` is excluded by .dockerignore line 3: `*.md`; remove that line or add `!homer.md` to .dockerignore"
            )
        }
    }

    @Test func destinationRules() throws {
        defer { context.remove() }
        #expect(CopySources.destinationIsDirectory("/app/"))
        #expect(CopySources.destinationIsDirectory("."))
        #expect(!CopySources.destinationIsDirectory("/app"))
        try CopySources.checkDestination(word("/app/"), matchedSourceCount: 3)
        try CopySources.checkDestination(word("/app"), matchedSourceCount: 1)
        #expect(
            throws: DockerfileError.copySource(
                SourceLocation(file: "Dockerfile", line: 4, column: 6),
                "when using COPY with more than one source file, the destination must be a directory and end with a /: write /app/"
            )
        ) {
            try CopySources.checkDestination(word("/app"), matchedSourceCount: 2)
        }
        #expect(CopySources.resolveDestination("app/", workdir: "/srv") == "/srv/app/")
        #expect(CopySources.resolveDestination(".", workdir: "/srv") == "/srv/")
        #expect(CopySources.resolveDestination("x.txt", workdir: "") == "/x.txt")
        #expect(CopySources.resolveDestination("/abs//y/../z", workdir: "/srv") == "/abs/z")
    }

    @Test func globSyntax() throws {
        #expect(try GlobPattern("a[b-d]e").matches("ace"))
        #expect(try !GlobPattern("a[^b-d]e").matches("ace"))
        #expect(try !GlobPattern("*").matches("a/b"))
        #expect(try GlobPattern("*").matches(".profile"))
        #expect(throws: GlobPattern.SyntaxError.self) { try GlobPattern("a[") }
        #expect(throws: GlobPattern.SyntaxError.self) { try GlobPattern("a\\") }
        #expect(throws: GlobPattern.SyntaxError.self) { try GlobPattern("[z-a]") }
    }
}
