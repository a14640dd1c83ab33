import Foundation

/// Infers a content type from a value's first 512 bytes, with the WHATWG MIME sniffing
/// rules that Go's `net/http.DetectContentType` (and so the original keyquarry) uses.
public enum ContentSniffer {
  public static func contentType(of value: Data) -> String {
    if value.isEmpty { return "" }
    return value.prefix(512).withUnsafeBytes { raw in
      sniff(Array(raw.bindMemory(to: UInt8.self)))
    }
  }

  private static let htmlTags: [[UInt8]] = [
    "<!DOCTYPE HTML", "<HTML", "<HEAD", "<SCRIPT", "<IFRAME", "<H1", "<DIV", "<FONT",
    "<TABLE", "<A", "<STYLE", "<TITLE", "<B", "<BODY", "<BR", "<P", "<!--",
  ].map { Array($0.utf8) }

  /// Signatures matched exactly at offset 0; `nil` bytes are wildcards.
  private static let prefixes: [([UInt8?], String)] = [
    (bytes("%PDF-"), "application/pdf"),
    (bytes("%!PS-Adobe-"), "application/postscript"),
    ([0xFE, 0xFF], "text/plain; charset=utf-16be"),
    ([0xFF, 0xFE], "text/plain; charset=utf-16le"),
    ([0xEF, 0xBB, 0xBF], "text/plain; charset=utf-8"),
    (bytes("GIF87a"), "image/gif"),
    (bytes("GIF89a"), "image/gif"),
    ([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "image/png"),
    ([0xFF, 0xD8, 0xFF], "image/jpeg"),
    (bytes("BM"), "image/bmp"),
    (bytes("RIFF") + [nil, nil, nil, nil] + bytes("WEBPVP"), "image/webp"),
    ([0x00, 0x00, 0x01, 0x00], "image/vnd.microsoft.icon"),
    (bytes("RIFF") + [nil, nil, nil, nil] + bytes("WAVE"), "audio/wave"),
    (bytes("FORM") + [nil, nil, nil, nil] + bytes("AIFF"), "audio/aiff"),
    (bytes(".snd"), "audio/basic"),
    (bytes("OggS") + [0x00], "application/ogg"),
    (bytes("MThd") + [0x00, 0x00, 0x00, 0x06], "audio/midi"),
    (bytes("ID3"), "audio/mpeg"),
    (bytes("RIFF") + [nil, nil, nil, nil] + bytes("AVI "), "video/avi"),
    ([0x1A, 0x45, 0xDF, 0xA3], "video/webm"),
    (Array(repeating: nil, count: 34) + bytes("LP"), "application/vnd.ms-fontobject"),
    ([0x00, 0x01, 0x00, 0x00], "font/ttf"),
    (bytes("OTTO"), "font/otf"),
    (bytes("ttcf"), "font/collection"),
    (bytes("wOFF"), "font/woff"),
    (bytes("wOF2"), "font/woff2"),
    ([0x1F, 0x8B, 0x08], "application/x-gzip"),
    (bytes("PK") + [0x03, 0x04], "application/zip"),
    (bytes("Rar!") + [0x1A, 0x07, 0x00], "application/x-rar-compressed"),
    (bytes("Rar!") + [0x1A, 0x07, 0x01, 0x00], "application/x-rar-compressed"),
    ([0x00] + bytes("asm"), "application/wasm"),
  ]

  private static func bytes(_ text: String) -> [UInt8?] { text.utf8.map { $0 } }

  private static func isWhitespace(_ byte: UInt8) -> Bool {
    byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D || byte == 0x20
  }

  private static func sniff(_ data: [UInt8]) -> String {
    let start = data.firstIndex { !isWhitespace($0) } ?? data.count
    let body = data[start...]
    for tag in htmlTags where matchesHTML(tag, body) { return "text/html; charset=utf-8" }
    if body.starts(with: "<?xml".utf8) { return "text/xml; charset=utf-8" }
    for (signature, type) in prefixes where matches(signature, data) { return type }
    if isMP4(data) { return "video/mp4" }
    let binary = body.contains { byte in
      byte <= 0x08 || byte == 0x0B || (0x0E...0x1A).contains(byte) || (0x1C...0x1F).contains(byte)
    }
    return binary ? "application/octet-stream" : "text/plain; charset=utf-8"
  }

  /// Case-insensitive tag match followed by a tag-terminating byte (space or `>`).
  private static func matchesHTML(_ tag: [UInt8], _ body: ArraySlice<UInt8>) -> Bool {
    guard body.count > tag.count else { return false }
    for (offset, expected) in tag.enumerated() {
      var byte = body[body.startIndex + offset]
      if expected >= 0x41 && expected <= 0x5A { byte &= 0xDF }  // upper-case letters
      if byte != expected { return false }
    }
    let next = body[body.startIndex + tag.count]
    return next == 0x20 || next == 0x3E
  }

  private static func matches(_ signature: [UInt8?], _ data: [UInt8]) -> Bool {
    guard data.count >= signature.count else { return false }
    for (offset, expected) in signature.enumerated() {
      if let expected, data[offset] != expected { return false }
    }
    return true
  }

  /// An ISO-BMFF `ftyp` box naming an `mp4` brand.
  private static func isMP4(_ data: [UInt8]) -> Bool {
    guard data.count >= 12 else { return false }
    let boxSize = data[0..<4].reduce(0) { $0 << 8 | Int($1) }
    guard data.count >= boxSize, boxSize % 4 == 0, data[4..<8].elementsEqual("ftyp".utf8)
    else { return false }
    var offset = 8
    while offset < boxSize {
      if offset != 12, data[offset..<offset + 3].elementsEqual("mp4".utf8) { return true }
      offset += 4
    }
    return false
  }
}
