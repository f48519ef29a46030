import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
enum CommandRegistry {
    static let all: [ParsableCommand.Type] = [
        ImagesCommand.self,
        InspectCommand.self,
        RmiCommand.self,
        PruneCommand.self,
        PullCommand.self,
        PushCommand.self,
    ]
}
