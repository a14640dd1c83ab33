import DequeModule
import NIOCore

/// One open stream of an `HTTP2Session`: its flow-control windows, which side has ended
/// it, and what waits for its send window to open.
final class HTTP2Stream {
  enum Output {
    case headers(HeaderBlock, endStream: Bool, EventLoopPromise<Void>?)
    case data(ByteBuffer, EventLoopPromise<Void>?)

    var promise: EventLoopPromise<Void>? {
      switch self {
      case .headers(_, _, let promise), .data(_, let promise): promise
      }
    }
  }

  let id: StreamID
  /// What the client may still send before this server opens the window again.
  var receiveWindow: Int
  /// What this server may still send before the client opens the window (may go negative
  /// when the client lowers SETTINGS_INITIAL_WINDOW_SIZE).
  var sendWindow: Int
  /// The client has sent END_STREAM.
  var remoteEnded: Bool
  /// This server has queued or sent END_STREAM.
  var localEnded = false
  /// Frames held back by flow control, in order: trailers wait behind the data.
  var pending = Deque<Output>()
  /// Waiting for the connection's send window, in the session's list.
  var waitsForConnection = false
  /// A reset (NO_ERROR) to send once `pending` has gone out: the response is whole and
  /// the client need not send the rest of its request.
  var resetWhenSent = false

  init(id: StreamID, receiveWindow: Int, sendWindow: Int, remoteEnded: Bool) {
    self.id = id
    self.receiveWindow = receiveWindow
    self.sendWindow = sendWindow
    self.remoteEnded = remoteEnded
  }

  var isDone: Bool { localEnded && remoteEnded && pending.isEmpty }

  /// The stream is gone with output still held: its writers learn it was not sent.
  func dropPending() {
    for output in pending { output.promise?.fail(ChannelError.outputClosed) }
    pending.removeAll()
  }
}
