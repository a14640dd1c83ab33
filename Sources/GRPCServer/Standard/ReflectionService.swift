import Foundation
import GRPCCore
import KeyquarryProtos
import SwiftProtobuf

/// `grpc.reflection.v1.ServerReflection`: what grpcurl and other tools ask to list and
/// describe the services without a .proto file. Each request is answered from
/// `DescriptorIndex`; there are no extensions to report.
struct ReflectionService: Grpc_Reflection_V1_ServerReflection.SimpleServiceProtocol {
  typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
  typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

  func serverReflectionInfo(
    request: RPCAsyncSequence<Request, any Error>, response: RPCWriter<Response>, context: ServerContext
  ) async throws {
    for try await message in request { try await response.write(Self.answer(message)) }
  }

  static func answer(_ request: Request) -> Response {
    let index = DescriptorIndex.served
    var response = Response()
    response.validHost = request.host
    response.originalRequest = request
    switch request.messageRequest {
    case .fileByFilename(let name):
      response.messageResponse = files(index.descriptors(withDependencies: name), missing: "file '\(name)'")
    case .fileContainingSymbol(let symbol):
      let descriptors = index.file(defining: symbol).flatMap(index.descriptors(withDependencies:))
      response.messageResponse = files(descriptors, missing: "symbol '\(symbol)'")
    case .fileContainingExtension(let request):
      response.messageResponse = error(
        .notFound, "no extension \(request.extensionNumber) of '\(request.containingType)': the server defines none")
    case .allExtensionNumbersOfType(let type):
      response.messageResponse =
        index.file(defining: type) == nil
        ? error(.notFound, "type '\(type)' not found") : .allExtensionNumbersResponse(.with { $0.baseTypeName = type })
    case .listServices:
      response.messageResponse = .listServicesResponse(
        .with { list in list.service = index.services.map { name in .with { $0.name = name } } })
    case nil:
      response.messageResponse = error(.invalidArgument, "the request asks nothing")
    }
    return response
  }

  private static func files(_ descriptors: [Data]?, missing: String) -> Response.OneOf_MessageResponse {
    guard let descriptors else { return error(.notFound, "\(missing) not found") }
    return .fileDescriptorResponse(.with { $0.fileDescriptorProto = descriptors })
  }

  private static func error(_ code: RPCError.Code, _ message: String) -> Response.OneOf_MessageResponse {
    .errorResponse(
      .with {
        $0.errorCode = Int32(code.rawValue)
        $0.errorMessage = message
      })
  }
}

/// `grpc.reflection.v1alpha.ServerReflection`, which older tools still call: the same
/// messages in another package, answered by `ReflectionService` through their bytes.
struct ReflectionAlphaService: Grpc_Reflection_V1alpha_ServerReflection.SimpleServiceProtocol {
  func serverReflectionInfo(
    request: RPCAsyncSequence<Grpc_Reflection_V1alpha_ServerReflectionRequest, any Error>,
    response: RPCWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>, context: ServerContext
  ) async throws {
    for try await message in request {
      let asked = try ReflectionService.Request(serializedBytes: try message.serializedBytes() as [UInt8])
      let answer: [UInt8] = try ReflectionService.answer(asked).serializedBytes()
      try await response.write(try Grpc_Reflection_V1alpha_ServerReflectionResponse(serializedBytes: answer))
    }
  }
}
