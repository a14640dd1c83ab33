import CMalloc
import Synchronization

/// Gives memory that a Clear, a prune or an ended slow watcher freed back to the system.
/// glibc keeps freed heap pages for reuse, so a server that held a million keys kept its
/// peak RSS after clearing them; `malloc_trim` returns them. It walks every arena, so it
/// runs off the caller's thread, one at a time, once more if asked again meanwhile.
enum MemoryRelease {
  private static let state = Mutex<(running: Bool, again: Bool)>((false, false))

  /// `delay`: for memory that is freed a little later, on other threads (what an ended
  /// watcher's connection still held).
  static func trimSoon(after delay: Duration = .zero) {
    let start = state.withLock { state in
      if state.running { state.again = true }
      defer { state.running = true }
      return !state.running
    }
    guard start else { return }
    Task.detached(priority: .background) {
      if delay > .zero { try? await Task.sleep(for: delay) }
      repeat {
        malloc_trim(0)
      } while state.withLock { state in
        defer { state.again = false }
        state.running = state.again
        return state.again
      }
    }
  }
}
