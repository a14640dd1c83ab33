import Configuration
import Core
import Foundation
import SystemPackage
import Yams

/// Builds a `ServerConfig` from, in order of precedence: flags given on the command line,
/// `KEYQUARRY_*` environment variables, a YAML file, and the defaults.
public enum ConfigLoader {
  /// - Parameters:
  ///   - flags: option key (`listen_address`) → value, for the flags the user gave.
  ///   - environment: the process environment.
  ///   - configFile: `--config`; when nil, `keyquarry.yaml` is looked for in the user's
  ///     config directory and then the current directory.
  public static func load(
    flags: [String: String] = [:], environment: [String: String], configFile: String? = nil
  ) async throws(ConfigError) -> ServerConfig {
    var sources: [(provider: any ConfigProvider, describe: (String) -> String)] = [
      (InMemoryProvider(name: "flags", values: flagValues(flags)), { key in "flag for \(key)" }),
      (
        EnvironmentVariablesProvider(environmentVariables: environment).prefixKeys(with: "keyquarry"),
        { key in "environment variable KEYQUARRY_" + key.uppercased().replacingOccurrences(of: ".", with: "_") }
      ),
    ]
    if let path = configFile ?? defaultConfigFile(environment: environment),
      let file = try await yamlProvider(path)
    {
      sources.append((file, { key in "\(key) in config file \(path)" }))
    }

    var config = ServerConfig()
    var given: Set<String> = []
    for option in ConfigOption.all {
      guard let (text, origin) = try lookup(option, in: sources) else { continue }
      given.insert(option.key)
      do {
        try option.apply(&config, text)
      } catch {
        throw ConfigError("invalid value '\(text)' for \(option.key) (\(origin)): expected \(error.expected)")
      }
    }
    try applyDurability(&config, given: given)
    try validate(config)
    return config
  }

  /// A journal needs snapshots to be cut: `durability: everysec` or `always` turns them on,
  /// every 5 minutes unless `snapshot.interval` says otherwise.
  private static func applyDurability(_ config: inout ServerConfig, given: Set<String>) throws(ConfigError) {
    guard config.durability != "snapshot" else { return }
    if given.contains("snapshot.enabled"), !config.store.snapshotEnabled {
      throw ConfigError(
        "durability: \(config.durability) needs snapshots (each snapshot cuts the journal): snapshot.enabled cannot be false")
    }
    config.store.snapshotEnabled = true
    if config.store.snapshotInterval == .zero { config.store.snapshotInterval = .seconds(300) }
  }

  private static func flagValues(_ flags: [String: String]) -> [AbsoluteConfigKey: ConfigValue] {
    var values: [AbsoluteConfigKey: ConfigValue] = [:]
    for (key, value) in flags { values[configKey(key)] = ConfigValue(.string(value), isSecret: false) }
    return values
  }

  private static func configKey(_ key: String) -> AbsoluteConfigKey {
    AbsoluteConfigKey(key.split(separator: ".").map(String.init))
  }

  /// The first source (in precedence order) that has the option or one of its aliases.
  private static func lookup(
    _ option: ConfigOption, in sources: [(provider: any ConfigProvider, describe: (String) -> String)]
  ) throws(ConfigError) -> (String, String)? {
    for source in sources {
      for key in [option.key] + option.aliases {
        let absolute = configKey(key)
        do {
          if let value = try source.provider.value(forKey: absolute, type: .string).value,
            case .string(let text) = value.content
          {
            return (text, source.describe(key))
          }
        } catch {
          // YAML lists (e.g. http_cors_origins) arrive as string arrays.
          if let value = try? source.provider.value(forKey: absolute, type: .stringArray).value,
            case .stringArray(let items) = value.content
          {
            return (items.joined(separator: ","), source.describe(key))
          }
          throw ConfigError("invalid value for \(key) (\(source.describe(key))): \(error)")
        }
      }
    }
    return nil
  }

  /// The file's provider, or nil for an empty file.
  private static func yamlProvider(_ path: String) async throws(ConfigError) -> FileProvider<YAMLSnapshot>? {
    let text: String
    do {
      text = try String(contentsOfFile: path, encoding: .utf8)
    } catch {
      throw ConfigError("cannot read config file \(path): \(error.localizedDescription)")
    }
    guard try checkKnownKeys(yaml: text, path: path) else { return nil }
    do {
      return try await FileProvider<YAMLSnapshot>(filePath: FilePath(path))
    } catch {
      throw ConfigError("cannot parse config file \(path): \(error)")
    }
  }

  /// A misspelt option in the file must not be silently ignored. False for an empty file.
  private static func checkKnownKeys(yaml: String, path: String) throws(ConfigError) -> Bool {
    let document: Any?
    do {
      document = try Yams.load(yaml: yaml)
    } catch {
      throw ConfigError("cannot parse config file \(path): \(error)")
    }
    guard let document else { return false }
    guard let mapping = document as? [String: Any] else {
      throw ConfigError("config file \(path) must be a mapping of option: value")
    }
    let known = Set(ConfigOption.all.flatMap { [$0.key] + $0.aliases })
    func walk(_ mapping: [String: Any], prefix: String) throws(ConfigError) {
      for (name, value) in mapping {
        let key = prefix.isEmpty ? name : "\(prefix).\(name)"
        if let nested = value as? [String: Any], !known.contains(key) {
          try walk(nested, prefix: key)
        } else if !known.contains(key) {
          throw ConfigError("unknown option '\(key)' in config file \(path)")
        }
      }
    }
    try walk(mapping, prefix: "")
    return true
  }

  private static func defaultConfigFile(environment: [String: String]) -> String? {
    var directories: [String] = []
    if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty {
      directories.append("\(xdg)/keyquarry")
    } else if let home = environment["HOME"], !home.isEmpty {
      directories.append("\(home)/.config/keyquarry")
    }
    directories.append(FileManager.default.currentDirectoryPath)
    for directory in directories {
      for name in ["keyquarry.yaml", "keyquarry.yml"] {
        let path = "\(directory)/\(name)"
        if FileManager.default.fileExists(atPath: path) { return path }
      }
    }
    return nil
  }

  /// Checks across options, after all sources are merged.
  private static func validate(_ config: ServerConfig) throws(ConfigError) {
    do {
      try config.store.validate()
    } catch {
      throw ConfigError(error.message)
    }
    if config.sslCertfile.isEmpty != config.sslKeyfile.isEmpty {
      throw ConfigError("ssl_certfile and ssl_keyfile must be given together")
    }
    for (key, address, port) in [
      ("listen_address", config.listenAddress, 33969),
      ("monitor_address", config.monitorAddress, 33970),
      ("http_address", config.httpAddress, 33971),
    ] {
      do {
        _ = try ListenAddress(address, defaultPort: port)
      } catch {
        throw ConfigError("invalid \(key): \(error)")
      }
    }
    let database = config.snapshotDatabase
    if config.store.snapshotEnabled, !database.isEmpty,
      !database.hasPrefix("sqlite://"), !database.hasPrefix("postgres://"),
      !database.hasPrefix("postgresql://")
    {
      throw ConfigError(
        "invalid snapshot.database '\(database)': expected sqlite:///path or postgres://user:password@host:port/dbname")
    }
  }
}
