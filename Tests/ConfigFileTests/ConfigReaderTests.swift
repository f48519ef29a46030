import ConfigFile
import Testing
import Yams

/// The reader both policies and the project file use: every refusal names the file and line and
/// arrives as the caller's error type.
struct ConfigReaderTests {
    struct Failure: Error, Equatable {
        let file: String
        let line: Int
        let message: String
    }

    let reader = ConfigReader<Failure>(file: "x.yaml") { Failure(file: $0, line: $1, message: $2) }

    func root(_ text: String) throws -> Node { try #require(try Yams.compose(yaml: text)) }

    /// The reader's error for `body`; nil when it succeeded or threw something else.
    func failure(_ body: () throws -> Void) -> Failure? {
        do { try body() } catch { return error as? Failure }
        return nil
    }

    @Test func mappingChecksKeysWithAHintForCase() throws {
        let node = try root("name: a\nSize: 1\n")
        #expect(
            failure { _ = try reader.mapping(node, allowed: ["name", "size"], what: "the policy") }
                == Failure(file: "x.yaml", line: 2, message: "unknown key `Size` in the policy; did you mean `size`?"))
        let fine = try reader.mapping(try root("name: a\n"), allowed: ["name", "size"], what: "the policy")
        #expect(fine["name"]?.string == "a")
    }

    @Test func aKeyWithoutValueIsRefusedButAnEmptyStringIsAValue() throws {
        let top = try reader.mapping(try root("image:\nempty: \"\"\n"), allowed: ["image", "empty"], what: "t")
        #expect(failure { _ = try reader.string(top["image"]!, what: "image") }?.line == 1)
        #expect(try reader.string(top["empty"]!, what: "empty") == "")
    }

    @Test func scalarsListsAndMapsNameWhatWasExpected() throws {
        let top = try reader.mapping(
            try root("n: 70000\nb: maybe\nl: x\nm: {a: 1, b: [2]}\no: tar\n"), allowed: ["n", "b", "l", "m", "o"],
            what: "t")
        #expect(
            failure { _ = try reader.int(top["n"]!, what: "uid", range: 0...65535) }?.message
                == "uid should be between 0 and 65535")
        #expect(failure { _ = try reader.bool(top["b"]!, what: "flag") }?.message == "flag should be true or false")
        #expect(failure { _ = try reader.stringList(top["l"]!, what: "tags") }?.line == 3)
        #expect(
            failure { _ = try reader.stringMap(top["m"]!, what: "args") }?.message == "args.b should be a single value")
        #expect(
            failure { _ = try reader.oneOf(top["o"]!, what: "format", ["docker", "oci"]) }?.message
                == "format should be one of docker, oci, not 'tar'")
    }
}
