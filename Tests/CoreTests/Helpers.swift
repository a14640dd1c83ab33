import Foundation
import HeapModule
import Synchronization
import Testing

@testable import Core

let alice = "alice"
let bob = "bob"

func makeStore(_ configure: (inout StoreOptions) -> Void = { _ in }) -> (Store, ManualClock) {
  var options = StoreOptions()
  configure(&options)
  let clock = ManualClock()
  return (Store(options: options, clock: clock), clock)
}

func data(_ text: String) -> Data { Data(text.utf8) }

/// Expects `body` to fail with `code`, optionally with `message` in the text.
func expectError(
  _ code: StoreError.Code, containing message: String? = nil,
  sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> Void
) {
  do {
    try body()
    Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
  } catch let error as StoreError {
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    if let message {
      #expect(error.message.lowercased().contains(message.lowercased()), "\(error)", sourceLocation: sourceLocation)
    }
  } catch {
    Issue.record("expected StoreError \(code), got \(error)", sourceLocation: sourceLocation)
  }
}

/// Reads the events already queued for a subscription (publishing is synchronous).
func drain(_ subscription: Subscription, count: Int) async -> [Event] {
  var iterator = subscription.events.makeAsyncIterator()
  var events: [Event] = []
  while events.count < count, let event = await iterator.next() { events.append(event) }
  return events
}

/// Polls `condition` up to `timeout`; for the background tasks of `Store.run()`.
func eventually(
  timeout: Duration = .seconds(15), sourceLocation: SourceLocation = #_sourceLocation,
  _ condition: () -> Bool
) async {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if condition() { return }
    try? await Task.sleep(for: .milliseconds(10))
  }
  #expect(condition(), "condition not met within \(timeout)", sourceLocation: sourceLocation)
}
