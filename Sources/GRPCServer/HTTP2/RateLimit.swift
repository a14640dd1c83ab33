import NIOCore

/// At most `count` events per fixed window of `window` (a burst across a boundary may
/// reach twice the count, which is enough to stop a flood).
struct RateLimit {
  let count: Int
  let window: TimeAmount
  private var seen = 0
  private var windowStart = NIODeadline.uptimeNanoseconds(0)

  init(count: Int, window: TimeAmount) {
    self.count = count
    self.window = window
  }

  mutating func allow(now: NIODeadline = .now()) -> Bool {
    if now - windowStart > window {
      windowStart = now
      seen = 0
    }
    seen += 1
    return seen <= count
  }
}
