/// The last string stored in one field of a shard's entries, handed out in place of an
/// equal one: a client setting many keys then leaves one copy of its id (or content
/// type) rather than one per key, since a `String` over 15 bytes is a heap object of its
/// own (64 bytes for a 17-byte `user@host` id).
struct SharedString {
  private var last = ""

  mutating func share(_ string: String) -> String {
    if string != last { last = string }
    return last
  }
}
