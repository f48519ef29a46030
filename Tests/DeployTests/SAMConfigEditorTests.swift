import Foundation
import TestSupport
import Testing

@testable import Deploy

@Suite("samconfig.toml parameter_overrides editing")
struct SAMConfigEditorTests {
    static let image =
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

    @Test("basic string: only the ImageUri value of the chosen environment changes")
    func basicString() throws {
        let original = """
            # SAM configuration
            version = 0.1

            [default.deploy.parameters]
            stack_name = "vibejudge"   # the stack
            parameter_overrides = "Environment=\\"dev\\" ImageUri=old.example/app:1 Memory=512"
            capabilities = "CAPABILITY_IAM"

            [prod.deploy.parameters]
            stack_name = "vibejudge-prod"
            parameter_overrides = "Environment=prod ImageUri=old.example/app:1"

            [default.global.parameters]
            region = "us-east-1"

            """
        let edit = try DeployTestSupport.editFile(original, value: Self.image)
        defer { edit.directory.remove() }
        #expect(DeployTestSupport.changedLines(original, edit.text) == [6])
        #expect(
            edit.text.contains("parameter_overrides = \"Environment=\\\"dev\\\" ImageUri=\(Self.image) Memory=512\""))
        #expect(edit.change.previousValue == "old.example/app:1")
        #expect(edit.change.line == 6)
        #expect(edit.change.location == "[default.deploy.parameters] parameter_overrides")
        let parsed = try DeployTestSupport.tomllib(edit.path)
        #expect(parsed.overrides as? String == "Environment=\"dev\" ImageUri=\(Self.image) Memory=512")
        #expect(parsed.table["stack_name"] as? String == "vibejudge")
        let prod = try DeployTestSupport.tomllib(edit.path, env: "prod")
        #expect(prod.overrides as? String == "Environment=prod ImageUri=old.example/app:1")
    }

    @Test("quoted values with spaces and =, set and read back through SAM's quoting")
    func quoting() throws {
        let original = """
            version = 0.1
            [dev.deploy.parameters]
            parameter_overrides = "A=1 Banner=\\"hello  world\\" Query=a=b&c=d ImageUri=\\"old image\\" Path=x\\\\ y"
            """
        let edit = try DeployTestSupport.editFile(original, env: "dev", value: "new image=\"v2\"")
        defer { edit.directory.remove() }
        #expect(edit.change.previousValue == "old image")
        let overrides = try #require(try DeployTestSupport.tomllib(edit.path, env: "dev").overrides as? String)
        #expect(overrides == #"A=1 Banner="hello  world" Query=a=b&c=d ImageUri="new image=\"v2\"" Path=x\ y"#)
        // SAM's tokenizer reads the new value back exactly, and the others unchanged.
        let tokens = try SAMParameterOverrides.tokenize(Array(overrides.unicodeScalars))
        #expect(tokens.map(\.key) == ["A", "Banner", "Query", "ImageUri", "Path"])
        #expect(tokens.map(\.value) == ["1", "hello  world", "a=b&c=d", "new image=\"v2\"", "x y"])
    }

    @Test("literal string keeps its style")
    func literalString() throws {
        let original = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = 'A=\"x y\" ImageUri=old'\n"
        let edit = try DeployTestSupport.editFile(original, value: Self.image)
        defer { edit.directory.remove() }
        #expect(
            edit.text
                == "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = 'A=\"x y\" ImageUri=\(Self.image)'\n"
        )
        #expect(try DeployTestSupport.tomllib(edit.path).overrides as? String == "A=\"x y\" ImageUri=\(Self.image)")
    }

    @Test("a value a literal string cannot hold turns the string into a basic string")
    func literalFallback() throws {
        let original = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = 'A=1 ImageUri=old'\n"
        let edit = try DeployTestSupport.editFile(original, value: "it's")
        defer { edit.directory.remove() }
        #expect(try DeployTestSupport.tomllib(edit.path).overrides as? String == "A=1 ImageUri=it's")
        #expect(edit.text.contains("parameter_overrides = \"A=1 ImageUri=it's\""))
    }

    @Test("multi-line basic and literal strings")
    func multiline() throws {
        let basic =
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"\"\"\nA=1 \\\n  ImageUri=old\nB=\\\"two words\\\"\n\"\"\"\nstack_name = \"s\"\n"
        let edit = try DeployTestSupport.editFile(basic, value: Self.image)
        defer { edit.directory.remove() }
        #expect(DeployTestSupport.changedLines(basic, edit.text) == [5])
        #expect(
            try DeployTestSupport.tomllib(edit.path).overrides as? String
                == "A=1 ImageUri=\(Self.image)\nB=\"two words\"\n")

        let literal = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = '''\nA=1\nB=\"x y\"'''\n"
        let added = try DeployTestSupport.editFile(literal, value: Self.image)
        defer { added.directory.remove() }
        #expect(
            try DeployTestSupport.tomllib(added.path).overrides as? String == "A=1\nB=\"x y\" ImageUri=\(Self.image)")
    }

    @Test("array of strings: element edited in place, or appended in the array's layout")
    func arrays() throws {
        let inline =
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\"A=1\", \"B=x y\", \"ImageUri=old\"]  # list\n"
        let edit = try DeployTestSupport.editFile(inline, value: Self.image)
        defer { edit.directory.remove() }
        #expect(
            try DeployTestSupport.tomllib(edit.path).overrides as? [String] == [
                "A=1", "B=x y", "ImageUri=\(Self.image)",
            ])
        #expect(edit.change.previousValue == "old")

        let oneLine = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\"A=1\", 'B=\"x y\"']\n"
        let appended = try DeployTestSupport.editFile(oneLine, value: "with space")
        defer { appended.directory.remove() }
        #expect(appended.text.contains("parameter_overrides = [\"A=1\", 'B=\"x y\"', 'ImageUri=\"with space\"']"))
        #expect(
            try DeployTestSupport.tomllib(appended.path).overrides as? [String] == [
                "A=1", "B=\"x y\"", "ImageUri=\"with space\"",
            ])

        let multi =
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\n    \"A=1\",  # first\n    \"B=2\",\n]\nstack_name = \"s\"\n"
        let grown = try DeployTestSupport.editFile(multi, value: Self.image)
        defer { grown.directory.remove() }
        #expect(
            grown.text
                == "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\n    \"A=1\",  # first\n    \"B=2\",\n    \"ImageUri=\(Self.image)\",\n]\nstack_name = \"s\"\n"
        )
        #expect(
            try DeployTestSupport.tomllib(grown.path).overrides as? [String] == [
                "A=1", "B=2", "ImageUri=\(Self.image)",
            ])

        let empty = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = []\n"
        let filled = try DeployTestSupport.editFile(empty, value: "x")
        defer { filled.directory.remove() }
        #expect(try DeployTestSupport.tomllib(filled.path).overrides as? [String] == ["ImageUri=x"])
    }

    @Test("missing key is appended to the existing string")
    func missingKey() throws {
        let original = "version = 0.1\n\n[default.deploy.parameters]\nparameter_overrides = \"Environment=dev\"\n"
        let edit = try DeployTestSupport.editFile(original, value: Self.image)
        defer { edit.directory.remove() }
        #expect(edit.change.previousValue == nil)
        #expect(
            try DeployTestSupport.tomllib(edit.path).overrides as? String == "Environment=dev ImageUri=\(Self.image)")
        let empty = try DeployTestSupport.editFile(
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"\"\n", value: "v")
        defer { empty.directory.remove() }
        #expect(try DeployTestSupport.tomllib(empty.path).overrides as? String == "ImageUri=v")
    }

    @Test("missing parameter_overrides is added to the table; a missing table is created")
    func missingEntryAndTable() throws {
        let original = """
            version = 0.1
            [default.deploy.parameters]
            stack_name = "app"
            resolve_s3 = true

            # production
            [prod.deploy.parameters]
            stack_name = "app-prod"
            """
        let edit = try DeployTestSupport.editFile(original, value: Self.image)
        defer { edit.directory.remove() }
        #expect(
            edit.text
                == original.replacingOccurrences(
                    of: "resolve_s3 = true\n",
                    with: "resolve_s3 = true\nparameter_overrides = \"ImageUri=\(Self.image)\"\n"))
        #expect(edit.change.line == 5)
        let parsed = try DeployTestSupport.tomllib(edit.path)
        #expect(parsed.overrides as? String == "ImageUri=\(Self.image)")
        #expect(parsed.table["resolve_s3"] as? Bool == true)

        let staging = try DeployTestSupport.editFile(original, env: "staging", value: Self.image)
        defer { staging.directory.remove() }
        #expect(
            staging.text == original
                + "\n\n[staging.deploy.parameters]\nparameter_overrides = \"ImageUri=\(Self.image)\"\n")
        #expect(
            try DeployTestSupport.tomllib(staging.path, env: "staging").overrides as? String == "ImageUri=\(Self.image)"
        )
        #expect(try DeployTestSupport.tomllib(staging.path, env: "prod").table["stack_name"] as? String == "app-prod")
    }

    @Test("dotted keys under [ENV.deploy] get a dotted parameter_overrides")
    func dottedKeys() throws {
        let original = "version = 0.1\n[default.deploy]\nparameters.stack_name = \"app\"\n"
        let edit = try DeployTestSupport.editFile(original, value: "img")
        defer { edit.directory.remove() }
        #expect(edit.text == original + "parameters.parameter_overrides = \"ImageUri=img\"\n")
        #expect(try DeployTestSupport.tomllib(edit.path).overrides as? String == "ImageUri=img")
    }

    @Test("new file, and a file without version, get version = 0.1")
    func newFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("samconfig.toml").path
        let change = try SAMConfigEditor(path: path, environment: "dev").setParameter(to: Self.image)
        #expect(
            try String(contentsOfFile: path, encoding: .utf8)
                == "version = 0.1\n\n[dev.deploy.parameters]\nparameter_overrides = \"ImageUri=\(Self.image)\"\n")
        #expect(change.modified)
        let parsed = try DeployTestSupport.tomllib(path, env: "dev")
        #expect(parsed.version == 0.1)
        #expect(parsed.overrides as? String == "ImageUri=\(Self.image)")

        let noVersion = try DeployTestSupport.editFile(
            "# comment\n[default.global.parameters]\nregion = \"eu-west-1\"", value: "v")
        defer { noVersion.directory.remove() }
        #expect(
            noVersion.text
                == "# comment\nversion = 0.1\n\n[default.global.parameters]\nregion = \"eu-west-1\"\n\n[default.deploy.parameters]\nparameter_overrides = \"ImageUri=v\"\n"
        )
        #expect(try DeployTestSupport.tomllib(noVersion.path).version == 0.1)
    }

    @Test("SAM precedence: global parameter_overrides is edited only when the deploy table has none")
    func globalFallback() throws {
        let globalOnly =
            "version = 0.1\n[default.global.parameters]\nparameter_overrides = \"ImageUri=old Stage=dev\"\n[default.deploy.parameters]\nstack_name = \"s\"\n"
        let edit = try DeployTestSupport.editFile(globalOnly, value: "new")
        defer { edit.directory.remove() }
        #expect(edit.change.location == "[default.global.parameters] parameter_overrides")
        #expect(
            try DeployTestSupport.tomllib(edit.path, table: "global").overrides as? String == "ImageUri=new Stage=dev")
        #expect(try DeployTestSupport.tomllib(edit.path).overrides == nil)

        let both =
            "version = 0.1\n[default.global.parameters]\nparameter_overrides = \"ImageUri=old\"\n[default.deploy.parameters]\nparameter_overrides = \"Stage=dev\"\n"
        let deploy = try DeployTestSupport.editFile(both, value: "new")
        defer { deploy.directory.remove() }
        #expect(try DeployTestSupport.tomllib(deploy.path).overrides as? String == "Stage=dev ImageUri=new")
        #expect(try DeployTestSupport.tomllib(deploy.path, table: "global").overrides as? String == "ImageUri=old")
    }

    @Test("CRLF line endings are kept, new lines included")
    func crlf() throws {
        let original =
            "version = 0.1\r\n[default.deploy.parameters]\r\nstack_name = \"s\"\r\nparameter_overrides = \"A=1 ImageUri=old\"\r\n\r\n[prod.deploy.parameters]\r\nstack_name = \"p\"\r\n"
        let edit = try DeployTestSupport.editFile(original, value: "new")
        defer { edit.directory.remove() }
        #expect(edit.text == original.replacingOccurrences(of: "ImageUri=old", with: "ImageUri=new"))
        let inserted = try DeployTestSupport.editFile(original, env: "prod", value: "new")
        defer { inserted.directory.remove() }
        // Every LF byte is preceded by CR ("\r\n" is one Character in Swift, so count bytes).
        let bytes = Array(inserted.text.utf8)
        let lineFeeds = bytes.indices.filter { bytes[$0] == 0x0A }
        #expect(lineFeeds.count == 8)
        #expect(lineFeeds.allSatisfy { $0 > 0 && bytes[$0 - 1] == 0x0D })
        #expect(inserted.text.hasSuffix("stack_name = \"p\"\r\nparameter_overrides = \"ImageUri=new\"\r\n"))
        #expect(try DeployTestSupport.tomllib(inserted.path, env: "prod").overrides as? String == "ImageUri=new")
    }

    @Test("the same value again leaves the file untouched")
    func unchanged() throws {
        let original = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"ImageUri=same\"\n"
        let (text, change) = try SAMConfigEditor.edit(original, value: "same")
        #expect(text == original)
        #expect(!change.modified)
        #expect(change.previousValue == "same")
    }

    @Test(
        "parse errors name samconfig.toml, the line and the column",
        arguments: [
            (
                "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"ImageUri=x\n", 3,
                "unterminated string"
            ),
            ("version = 0.1\n[default.deploy.parameters\nstack_name = \"s\"\n", 2, "expected \"]\""),
            ("version = 0.1\n[default.deploy.parameters]\nstack_name = app\n", 3, "strings must be quoted"),
            (
                "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"A=1 =broken\"\n", 3,
                "expected Key=Value"
            ),
            (
                "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"A=\\\"open\"\n", 3,
                "no closing quote"
            ),
            ("version = 0.1\n[default.deploy.parameters]\nparameter_overrides = 42\n", 3, "must be a string"),
            (
                "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = [\"A=1\", 2]\n", 3,
                "array elements must be strings"
            ),
            ("version = 0.1\n[default.deploy]\nparameters = { stack_name = \"s\" }\n", 3, "inline table"),
            ("version = 0.1\n\n\nkey = \"a\" extra\n", 4, "unexpected text after"),
        ])
    func parseErrors(text: String, line: Int, message: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("samconfig.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        do {
            try SAMConfigEditor(path: path).setParameter(to: "v")
            Issue.record("expected an error")
        } catch let error as DeployError {
            #expect("\(error)".hasPrefix("\(path):\(line):"), "\(error)")
            #expect("\(error)".contains(message), "\(error)")
        }
        // Nothing was written.
        #expect(try String(contentsOfFile: path, encoding: .utf8) == text)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["samconfig.toml"])
    }

    @Test("column numbers point at the bad token")
    func columns() {
        #expect(
            throws: DeployError.syntax(
                file: "samconfig.toml", line: 2, column: 28,
                message: "parameter_overrides: expected Key=Value (a parameter name of letters and digits, then \"=\")")
        ) {
            try SAMConfigEditor.edit("[default.deploy.parameters]\nparameter_overrides = \"A=1 -B=2\"\n", value: "v")
        }
    }

    @Test("a failed write leaves the original intact, with no temporary file; the file mode is kept")
    func failedWrite() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("samconfig.toml").path
        let original = "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"ImageUri=old\"\n"
        try Data(original.utf8).write(to: URL(fileURLWithPath: path))
        try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: path)

        let (text, _) = try SAMConfigEditor.edit(original, value: "new")
        struct Injected: Error {}
        #expect(throws: Injected.self) {
            try AtomicFile.save(text, to: path) { _ in throw Injected() }
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == original)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["samconfig.toml"])

        // A directory that does not exist: a clear error, nothing created.
        let missing = directory.appending("nope/samconfig.toml").path
        do {
            try SAMConfigEditor(path: missing).setParameter(to: "x")
            Issue.record("expected a write error")
        } catch let error as DeployError {
            #expect("\(error)".contains("cannot write"))
        }

        try SAMConfigEditor(path: path).setParameter(to: "new")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o640)
        #expect(try DeployTestSupport.tomllib(path).overrides as? String == "ImageUri=new")
    }

    @Test("a symlinked samconfig.toml stays a symlink")
    func symlink() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let target = directory.appending("real.toml").path
        let link = directory.appending("samconfig.toml").path
        try Data("version = 0.1\n".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try SAMConfigEditor(path: link).setParameter(to: "v")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == target)
        #expect(try DeployTestSupport.tomllib(target).overrides as? String == "ImageUri=v")
    }

    @Test("other keys than ImageUri, and invalid names")
    func otherKeys() throws {
        let (text, _) = try SAMConfigEditor.edit(
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"ImageUri=a\"\n",
            key: "DashboardImage", value: "b")
        #expect(text.contains("\"ImageUri=a DashboardImage=b\""))
        #expect(throws: DeployError.self) { try SAMConfigEditor.edit("", key: "Image Uri", value: "x") }
    }

    @Test("ParameterKey=K,ParameterValue=V tokens")
    func parameterKeyForm() throws {
        let (text, change) = try SAMConfigEditor.edit(
            "version = 0.1\n[default.deploy.parameters]\nparameter_overrides = \"ParameterKey=ImageUri,ParameterValue=old ParameterKey=Stage,ParameterValue=dev\"\n",
            value: "new")
        #expect(change.previousValue == "old")
        #expect(text.contains("\"ParameterKey=ImageUri,ParameterValue=new ParameterKey=Stage,ParameterValue=dev\""))
    }
}
