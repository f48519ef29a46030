import Foundation
import TestSupport
import Testing

@testable import Deploy

@Suite("CloudFormation parameters and ECS task definition files")
struct JSONEditorTests {
    static let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/vibejudge-dashboard@sha256:aaaa"

    /// Python's json module reads what was written.
    func pythonJSON(_ text: String) throws -> Any {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("doc.json").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        let output = try DeployTestSupport.runPython(
            "import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))", [path])
        return try JSONSerialization.jsonObject(with: Data(output.utf8))
    }

    @Test("list shape: the value is replaced in place, order and formatting kept")
    func listShape() throws {
        let original = """
            [
              {
                "ParameterKey": "Stage",
                "ParameterValue": "dev"
              },
              {
                "ParameterKey": "ImageUri",
                "ParameterValue": "old"
              },
              {"ParameterKey": "Memory", "ParameterValue": "512"}
            ]

            """
        let (text, change) = try CloudFormationParameters.edit(original, key: "ImageUri", value: Self.image)
        #expect(text == original.replacingOccurrences(of: "\"old\"", with: "\"\(Self.image)\""))
        #expect(change.previousValue == "old")
        #expect(change.line == 8)
        let entries = try #require(try pythonJSON(text) as? [[String: String]])
        #expect(entries.map { $0["ParameterKey"]! } == ["Stage", "ImageUri", "Memory"])
        #expect(entries[1]["ParameterValue"] == Self.image)
    }

    @Test("list shape: a missing parameter is appended like its neighbours")
    func listAppend() throws {
        let pretty = "[\n    {\n        \"ParameterKey\": \"Stage\",\n        \"ParameterValue\": \"dev\"\n    }\n]\n"
        let (text, _) = try CloudFormationParameters.edit(pretty, key: "ImageUri", value: "img")
        #expect(
            text
                == "[\n    {\n        \"ParameterKey\": \"Stage\",\n        \"ParameterValue\": \"dev\"\n    },\n    {\n        \"ParameterKey\": \"ImageUri\",\n        \"ParameterValue\": \"img\"\n    }\n]\n"
        )
        let compact = #"[{"ParameterKey":"Stage","ParameterValue":"dev"}]"#
        let (small, _) = try CloudFormationParameters.edit(compact, key: "ImageUri", value: "img")
        #expect(
            small
                == #"[{"ParameterKey":"Stage","ParameterValue":"dev"}, {"ParameterKey":"ImageUri", "ParameterValue":"img"}]"#
        )
        let entries = try #require(try pythonJSON(small) as? [[String: String]])
        #expect(entries.last == ["ParameterKey": "ImageUri", "ParameterValue": "img"])
        let (fromEmpty, _) = try CloudFormationParameters.edit("[]", key: "ImageUri", value: "img")
        #expect(
            try pythonJSON(fromEmpty) as? [[String: String]] == [["ParameterKey": "ImageUri", "ParameterValue": "img"]])
    }

    @Test("UsePreviousValue is replaced by the new value")
    func usePreviousValue() throws {
        let original =
            #"[{"ParameterKey": "ImageUri", "UsePreviousValue": true}, {"ParameterKey": "Stage", "ParameterValue": "x"}]"#
        let (text, _) = try CloudFormationParameters.edit(original, key: "ImageUri", value: "img")
        #expect(
            text
                == #"[{"ParameterKey": "ImageUri", "ParameterValue": "img"}, {"ParameterKey": "Stage", "ParameterValue": "x"}]"#
        )
    }

    @Test("object shape {\"Parameters\": {...}}, CRLF kept, escaping correct")
    func objectShape() throws {
        let original =
            "{\r\n  \"Parameters\": {\r\n    \"Stage\": \"dev\",\r\n    \"ImageUri\": \"old\"\r\n  },\r\n  \"Tags\": {\"team\": \"web\"}\r\n}\r\n"
        let (text, change) = try CloudFormationParameters.edit(original, key: "ImageUri", value: "a\"b\\c/d")
        #expect(text == original.replacingOccurrences(of: "\"old\"", with: #""a\"b\\c/d""#))
        #expect(change.location == "Parameters.ImageUri")
        let object = try #require(try pythonJSON(text) as? [String: Any])
        #expect((object["Parameters"] as? [String: String])?["ImageUri"] == "a\"b\\c/d")

        let (added, _) = try CloudFormationParameters.edit(original, key: "Memory", value: "1024")
        #expect(added.contains("\"ImageUri\": \"old\",\r\n    \"Memory\": \"1024\"\r\n  },"))
        #expect(
            (try pythonJSON(added) as? [String: Any]).flatMap { $0["Parameters"] as? [String: String] } == [
                "Stage": "dev", "ImageUri": "old", "Memory": "1024",
            ])
    }

    @Test("file round trip: atomic, mode kept; a missing file is created; bad JSON names line and column")
    func files() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("params.json").path
        try CloudFormationParameters(path: path).setParameter("ImageUri", to: "first")
        #expect(
            try pythonJSON(String(contentsOfFile: path, encoding: .utf8)) as? [[String: String]] == [
                ["ParameterKey": "ImageUri", "ParameterValue": "first"]
            ])
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let change = try CloudFormationParameters(path: path).setParameter("ImageUri", to: "second")
        #expect(change.previousValue == "first")
        #expect(
            (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let broken = directory.appending("broken.json").path
        let brokenText = "[\n  {\"ParameterKey\": \"A\" \"ParameterValue\": \"x\"}\n]\n"
        try Data(brokenText.utf8).write(to: URL(fileURLWithPath: broken))
        #expect(
            throws: DeployError.syntax(
                file: broken, line: 2, column: 24,
                message: "expected \",\" or \"}\" after the value of \"ParameterKey\"")
        ) {
            try CloudFormationParameters(path: broken).setParameter("ImageUri", to: "x")
        }
        #expect(try String(contentsOfFile: broken, encoding: .utf8) == brokenText)
        #expect(throws: DeployError.self) { try CloudFormationParameters.edit(#"{"Other": 1}"#, key: "A", value: "b") }
    }

    static let taskDefinition = """
        {
          "family": "vibejudge-dashboard",
          "containerDefinitions": [
            {
              "name": "sidecar",
              "image": "public.ecr.aws/aws-observability/aws-otel-collector:latest",
              "essential": false
            },
            {
              "name": "dashboard",
              "image": "old:1",
              "portMappings": [{"containerPort": 8501}],
              "essential": true
            }
          ],
          "cpu": "256",
          "memory": "512"
        }

        """

    @Test("task definition: only the named container's image changes")
    func taskDefinitionImage() throws {
        let (text, change) = try ECSTaskDefinition.edit(Self.taskDefinition, container: "dashboard", image: Self.image)
        #expect(text == Self.taskDefinition.replacingOccurrences(of: "\"old:1\"", with: "\"\(Self.image)\""))
        #expect(change.previousValue == "old:1")
        #expect(change.line == 11)
        let object = try #require(try pythonJSON(text) as? [String: Any])
        let containers = try #require(object["containerDefinitions"] as? [[String: Any]])
        #expect(
            containers.map { $0["image"] as? String } == [
                "public.ecr.aws/aws-observability/aws-otel-collector:latest", Self.image,
            ])
    }

    @Test("describe-task-definition output and a bare list work too; a missing image key is added")
    func taskDefinitionShapes() throws {
        let wrapped =
            #"{"taskDefinition": {"taskDefinitionArn": "arn:x", "containerDefinitions": [{"name": "web", "image": "a"}], "revision": 3}}"#
        let (text, _) = try ECSTaskDefinition.edit(wrapped, container: "web", image: "b")
        #expect(
            text
                == #"{"taskDefinition": {"taskDefinitionArn": "arn:x", "containerDefinitions": [{"name": "web", "image": "b"}], "revision": 3}}"#
        )
        let bare = "[\n  {\n    \"name\": \"web\",\n    \"essential\": true\n  }\n]"
        let (added, change) = try ECSTaskDefinition.edit(bare, container: "web", image: "img")
        #expect(added == "[\n  {\n    \"name\": \"web\",\n    \"essential\": true,\n    \"image\": \"img\"\n  }\n]")
        #expect(change.previousValue == nil)
    }

    @Test("a missing container lists the names there are")
    func missingContainer() throws {
        #expect(
            throws: DeployError.containerNotFound(
                file: "task-definition.json", name: "web", available: ["sidecar", "dashboard"])
        ) {
            try ECSTaskDefinition.edit(Self.taskDefinition, container: "web", image: "x")
        }
        let error = DeployError.containerNotFound(file: "td.json", name: "web", available: ["sidecar", "dashboard"])
        #expect(
            "\(error)"
                == "td.json: no container named \"web\" in the task definition (containers: sidecar, dashboard); pass one of these names"
        )
        #expect(throws: DeployError.self) {
            try ECSTaskDefinition.edit(#"{"family": "x"}"#, container: "web", image: "x")
        }
    }

    @Test("task definition file edit is atomic and a failed edit leaves it alone")
    func taskDefinitionFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.appending("task-definition.json").path
        try Data(Self.taskDefinition.utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: DeployError.self) { try ECSTaskDefinition(path: path).setImage("x", container: "nope") }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == Self.taskDefinition)
        try ECSTaskDefinition(path: path).setImage(Self.image, container: "dashboard")
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("\"image\": \"\(Self.image)\""))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["task-definition.json"])
    }
}
