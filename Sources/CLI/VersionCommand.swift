import ArgumentParser

/// Build information. Commit, build time and user are not stamped into builds yet.
enum BuildInfo {
  static let version = "0.1.0"
}

struct VersionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "version", abstract: "Print the version.", discussion: "keyquarry version --all")

  @Flag(help: "Also print the commit, build time and build user.") var all = false

  func run() {
    print("keyquarry version: \(BuildInfo.version)")
    if all {
      print("git commit: unknown")
      print("build time: unknown")
      print("build user: unknown")
    }
  }
}

struct CompletionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "completion", abstract: "Print a shell completion script.",
    discussion: "source <(keyquarry completion bash)")

  @Argument(help: "bash, zsh or fish.") var shell: String

  func run() throws {
    guard let kind = CompletionShell(rawValue: shell) else {
      throw ValidationError("unknown shell '\(shell)': use bash, zsh or fish")
    }
    print(Keyquarry.completionScript(for: kind))
  }
}
