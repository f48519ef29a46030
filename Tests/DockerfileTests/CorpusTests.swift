import Foundation
import Testing

@testable import Dockerfile

private func corpus(_ folder: String) throws -> URL {
    let root = try #require(Bundle.module.url(forResource: "Corpus", withExtension: nil))
    return root.appendingPathComponent(folder)
}

private func dockerfiles(_ folder: String) -> [String] {
    guard let dir = try? corpus(folder),
        let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path)
    else { return [] }
    return names.filter { $0.hasSuffix(".Dockerfile") }.map { String($0.dropLast(".Dockerfile".count)) }.sorted()
}

@Suite struct CorpusTests {
    @Test func corpusIsLargeEnough() {
        #expect(dockerfiles("valid").count >= 25)
        #expect(dockerfiles("invalid").count >= 15)
    }

    @Test(arguments: dockerfiles("valid"))
    func validDockerfile(_ name: String) throws {
        let dir = try corpus("valid")
        let text = try String(contentsOf: dir.appendingPathComponent(name + ".Dockerfile"), encoding: .utf8)
        let actual = try CorpusEncoder.run(text, file: name + ".Dockerfile")
        let expectedURL = dir.appendingPathComponent(name + ".expected.json")
        let expected = try JSONValue.decode(expectedURL)
        #expect(actual == expected, "\(name): got\n\(actual)")
    }

    @Test(arguments: dockerfiles("invalid"))
    func invalidDockerfile(_ name: String) throws {
        let dir = try corpus("invalid")
        let text = try String(contentsOf: dir.appendingPathComponent(name + ".Dockerfile"), encoding: .utf8)
        let expected = try JSONValue.decode(dir.appendingPathComponent(name + ".expected.json"))
        let position = try #require(expected["position"]?.stringValue)
        let fragment = try #require(expected["contains"]?.stringValue)
        var buildArgs: [String: String] = [:]
        if case .object(let args)? = expected["buildArgs"] {
            for (k, v) in args { buildArgs[k] = v.stringValue }
        }
        let file = name + ".Dockerfile"
        do {
            let result = try CorpusEncoder.run(
                text, file: file, buildArgs: buildArgs, target: expected["target"]?.stringValue)
            Issue.record("\(name) parsed without error: \(result)")
        } catch let error as DockerfileError {
            let text = error.description
            #expect(text.hasPrefix("\(file):\(position): "), "\(name): \(text)")
            #expect(text.contains(fragment), "\(name): \(text)")
            #expect(error.location.file == file)
        }
    }
}
