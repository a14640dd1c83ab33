/// Client ids and reserved names.
public enum ClientID {
  /// The id of events the server produces itself (expiry, auto-unlock, pruning).
  public static let internalID = "keyquarry"

  /// Checks a caller's id (nil when the caller sent none); returns it when valid.
  public static func validate(_ id: String?) throws(StoreError) -> String {
    guard let id else { throw StoreError(.invalidArgument, "missing client_id") }
    if id.isEmpty { throw StoreError(.invalidArgument, "empty client_id") }
    if id == internalID { throw StoreError(.invalidArgument, "reserved client_id used") }
    return id
  }

  /// Reserved keys are those whose lower-cased form starts with `keyquarry`.
  public static func isReserved(key: String) -> Bool {
    var utf8 = key.utf8.makeIterator()
    for expected in "keyquarry".utf8 {
      guard let byte = utf8.next() else { return false }
      // ASCII lower-casing is enough: the prefix is ASCII.
      let lower = (byte >= 65 && byte <= 90) ? byte + 32 : byte
      if lower != expected { return false }
    }
    return true
  }
}
