import Foundation
import KeyquarryProtos
import SwiftProtobuf

/// The served .proto files, read from the descriptors generated with their code
/// (`ServedDescriptors`): what server reflection describes. Built once.
struct DescriptorIndex: Sendable {
  static let served = DescriptorIndex(base64: ServedDescriptors.fileDescriptorSet)

  /// Each file's descriptor, serialized, by file name.
  private let files: [String: Data]
  private let dependencies: [String: [String]]
  /// The file defining each fully-qualified message, enum, service and method.
  private let symbols: [String: String]
  /// Fully-qualified names of every service, sorted.
  let services: [String]

  init(base64: String) {
    // Generated with the code and checked by a test: a failure here is a build defect.
    let set = try! Google_Protobuf_FileDescriptorSet(serializedBytes: Data(base64Encoded: base64)!)
    var files: [String: Data] = [:]
    var dependencies: [String: [String]] = [:]
    var symbols: [String: String] = [:]
    var services: [String] = []
    for file in set.file {
      files[file.name] = try! file.serializedBytes()
      dependencies[file.name] = file.dependency
      let prefix = file.package.isEmpty ? "" : file.package + "."
      func add(_ messages: [Google_Protobuf_DescriptorProto], in scope: String) {
        for message in messages {
          symbols[scope + message.name] = file.name
          for type in message.enumType { symbols[scope + message.name + "." + type.name] = file.name }
          add(message.nestedType, in: scope + message.name + ".")
        }
      }
      add(file.messageType, in: prefix)
      for type in file.enumType { symbols[prefix + type.name] = file.name }
      for service in file.service {
        services.append(prefix + service.name)
        symbols[prefix + service.name] = file.name
        for method in service.method { symbols[prefix + service.name + "." + method.name] = file.name }
      }
    }
    self.files = files
    self.dependencies = dependencies
    self.symbols = symbols
    self.services = services.sorted()
  }

  /// The file that defines `symbol`.
  func file(defining symbol: String) -> String? { symbols[symbol] }

  /// The descriptor of file `name` and of every file it imports, transitively, each once,
  /// `name` first; nil for a file not served.
  func descriptors(withDependencies name: String) -> [Data]? {
    guard files[name] != nil else { return nil }
    var order: [String] = []
    var seen: Set<String> = []
    func visit(_ file: String) {
      guard seen.insert(file).inserted else { return }
      order.append(file)
      for dependency in dependencies[file] ?? [] { visit(dependency) }
    }
    visit(name)
    return order.compactMap { files[$0] }
  }
}
