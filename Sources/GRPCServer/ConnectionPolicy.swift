/// What a listener (gRPC, gateway, monitor) allows its connections.
public struct ConnectionPolicy: Sendable {
  /// How many may be open at once (nil: as many as descriptors allow).
  public var limit: ConnectionLimit?
  /// A connection that has not started within this long is closed: a gRPC one that has
  /// not sent its preface and SETTINGS, an HTTP one whose first request head has not
  /// arrived (answered 408), a TLS handshake included. Nil: never. The server's default
  /// is its configuration's (`handshake_timeout`).
  public var handshakeTimeout: Duration?

  public init(limit: ConnectionLimit? = nil, handshakeTimeout: Duration? = nil) {
    self.limit = limit
    self.handshakeTimeout = handshakeTimeout
  }
}
