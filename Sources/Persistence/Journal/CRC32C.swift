/// CRC-32C (Castagnoli), the journal's record checksum (as etcd's WAL and ext4's
/// metadata), eight bytes a step ("slicing-by-8"): a record's checksum costs less than
/// copying it.
enum CRC32C {
  private static let tables: [[UInt32]] = {
    var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
    for byte in 0..<256 {
      tables[0][byte] = (0..<8).reduce(UInt32(byte)) { crc, _ in (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    for byte in 0..<256 {
      for slice in 1..<8 {
        let previous = tables[slice - 1][byte]
        tables[slice][byte] = (previous >> 8) ^ tables[0][Int(previous & 0xFF)]
      }
    }
    return tables
  }()
  private static let flat: [UInt32] = tables.flatMap { $0 }

  static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    flat.withUnsafeBufferPointer { table in
      var crc: UInt32 = 0xFFFF_FFFF
      var index = 0
      while index + 8 <= bytes.count {
        let low = crc ^ bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian
        let high = bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
        crc = table[7 * 256 + Int(low & 0xFF)] ^ table[6 * 256 + Int((low >> 8) & 0xFF)]
          ^ table[5 * 256 + Int((low >> 16) & 0xFF)] ^ table[4 * 256 + Int(low >> 24)]
          ^ table[3 * 256 + Int(high & 0xFF)] ^ table[2 * 256 + Int((high >> 8) & 0xFF)]
          ^ table[1 * 256 + Int((high >> 16) & 0xFF)] ^ table[Int(high >> 24)]
        index += 8
      }
      while index < bytes.count {
        crc = table[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
        index += 1
      }
      return ~crc
    }
  }
}
