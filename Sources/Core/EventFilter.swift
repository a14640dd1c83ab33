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
    (keys.isEmpty || keys.contains(event.key))
      && (kinds.isEmpty || kinds.contains(event.kind))
      && (clientIDs.isEmpty || clientIDs.contains(event.clientID))
  }
}
