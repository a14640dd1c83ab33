import ArgumentParser

@main
struct Keyquarry: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keyquarry",
    abstract: "An in-memory key-value store with a gRPC API.",
    subcommands: [Serve.self, Client.self])
}
