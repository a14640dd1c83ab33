/// Which events a watcher wants; an empty set means "no restriction".
public struct EventFilter: Sendable {
  public var keys: Set<String>
  public var kinds: Set<KeyEvent>
  public var clientIDs: Set<String>

  public init(keys: Set<String> = [], kinds: Set<KeyEvent> = [], clientIDs: Set<String> = []) {
    self.keys = keys
    self.kinds = kinds
    self.clientIDs = clientIDs
  }

  func matches(_ event: Event) -> Bool {
    (keys.isEmpty || watchesKey(event.key))
      && (kinds.isEmpty || kinds.contains(event.kind))
      && (clientIDs.isEmpty || clientIDs.contains(event.clientID))
  }

  /// By the key's bytes, as the store tells keys apart (a `Set<String>` alone would also
  /// match a canonically equivalent spelling, which is another key).
  private func watchesKey(_ key: String) -> Bool {
    keys.firstIndex(of: key).map { keys[$0].utf8.elementsEqual(key.utf8) } ?? false
  }
}
