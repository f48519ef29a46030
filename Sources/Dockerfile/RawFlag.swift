/// A `--name[=value]` flag written before an instruction's arguments.
struct RawFlag {
    var name: String
    var value: String?
    var location: SourceLocation
    var valueWord: Word
}
