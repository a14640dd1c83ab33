import ArgumentParser
import Foundation

@main
struct Keyquarry: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "keyquarry",
    abstract: "An in-memory key-value store with a gRPC API.",
    version: BuildInfo.version,
    subcommands: [Serve.self, Client.self, SnapshotCommand.self, VersionCommand.self, CompletionCommand.self])

  /// As the original: a bad argument is an error like any other, exit status 1
  /// (ArgumentParser would use 64). Help and --version still exit 0.
  static func main() async {
    // A closed pipe is an error to handle where it is met (EPIPE), never a killed process.
    signal(SIGPIPE, SIG_IGN)
    do {
      var command = try parseAsRoot()
      if var command = command as? any AsyncParsableCommand {
        try await command.run()
      } else {
        try command.run()
      }
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        printError(fullMessage(for: error))
        Foundation.exit(1)
      }
      exit(withError: error)
    }
  }
}
