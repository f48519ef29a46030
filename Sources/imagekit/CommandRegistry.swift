import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
enum CommandRegistry {
    static let all: [ParsableCommand.Type] = [
        BuildCommand.self,
        ImportCommand.self,
        ExportCommand.self,
        ImagesCommand.self,
        InspectCommand.self,
        RmiCommand.self,
        PruneCommand.self,
        VerifyCommand.self,
        PullCommand.self,
        PushCommand.self,
    ]
}
