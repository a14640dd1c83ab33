import Foundation
import GRPCCore
import HTTPTypes
import Hummingbird
import NIOCore

extension Gateway {
  func addStaticRoutes(to router: Router<GatewayContext>) {
    router.addHealthRoutes(readiness: readiness, store: store)
    router.route(.get, "/openapi.yaml") { _, _ in try Self.embedded("openapi.yaml") }
    guard options.serveUI else { return }
    // `/ui` and `/ui/` are one route; the page links its files absolutely.
    router.route(.get, "/ui") { _, _ in try Self.embedded("ui/index.html") }
    router.route(.get, "/ui/{file}") { _, context in try Self.embedded("ui/" + (try context.parameters.require("file"))) }
  }

  static func embedded(_ name: String) throws -> Response {
    guard let file = EmbeddedFiles.files[name], let data = Data(base64Encoded: file.base64) else {
      throw GatewayError(code: .notFound, message: "no such file: \(name)")
    }
    return Response(
      status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
      body: .init(byteBuffer: ByteBuffer(bytes: data)))
  }
}
