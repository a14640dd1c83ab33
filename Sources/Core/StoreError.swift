/// A rejected request: a gRPC-style code and a message for the caller.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
  public enum Code: Sendable, Equatable {
    case invalidArgument, failedPrecondition, outOfRange, notFound
    case permissionDenied, resourceExhausted, alreadyExists, unavailable
    /// Resource exhausted by `max_memory` (HTTP 507 rather than 429: waiting does not help).
    case outOfMemory
  }

  public let code: Code
  public let message: String

  public init(_ code: Code, _ message: String) {
    self.code = code
    self.message = message
  }

  public var description: String { "\(code): \(message)" }

  // The original's errors, with the decisions the README lists.
  static let emptyKey = StoreError(.invalidArgument, "empty key")
  static let reservedKey = StoreError(.invalidArgument, "key cannot begin with 'keyquarry'")
  static let readOnly = StoreError(.failedPrecondition, "server in readonly mode")
  static let keyTooLong = StoreError(.failedPrecondition, "key length greater than maximum")
  public static let valueTooLarge = StoreError(.failedPrecondition, "value size is greater than maximum")
  static let lockTooLong = StoreError(.outOfRange, "lock duration too long")
  static let lockInvalid = StoreError(.outOfRange, "invalid lock duration")
  static let lifespanInvalid = StoreError(.invalidArgument, "invalid lifespan (expire_after)")
  static let notFound = StoreError(.notFound, "key not found")
  static let locked = StoreError(.permissionDenied, "key is locked")
  static let maxKeys = StoreError(.resourceExhausted, "maximum number of keys reached")
  static let noVersioning = StoreError(.failedPrecondition, "versioning is not enabled")
  static let revisionZero = StoreError(.invalidArgument, "revision must be greater or less than zero")
  static let revisionNotFound = StoreError(.notFound, "revision not found")
  static let alreadyRegistered = StoreError(.alreadyExists, "already registered")
  static func maxClientIDs(_ limit: Int) -> StoreError {
    StoreError(.resourceExhausted, "maximum number of registered client ids reached (max_client_ids: \(limit))")
  }
  static let noPrivilegedClient = StoreError(.failedPrecondition, "privileged client ID not set")
  static let notAuthorized = StoreError(.permissionDenied, "not authorized")
  static let notAdmin = StoreError(.permissionDenied, "missing or invalid client ID for admin function")
  static func invalidPattern(_ why: String) -> StoreError {
    StoreError(.invalidArgument, "invalid key pattern: \(why)")
  }
  static func maxMemory(_ limit: Int) -> StoreError {
    StoreError(.outOfMemory, "out of memory: the server holds more than max_memory (\(limit) bytes); reads and deletes still work")
  }
  static func subscriberLimit(_ limit: Int) -> StoreError {
    StoreError(.resourceExhausted, "subscriber limit reached: \(limit)")
  }
}
