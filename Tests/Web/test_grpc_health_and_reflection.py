"""The standard gRPC health and reflection services, through grpcio's own clients (as
grpc_health_probe, Kubernetes probes and grpcurl use them), with no client id."""
import signal

import grpc
import pytest
from google.protobuf.descriptor_pool import DescriptorPool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import Server

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICES = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "keyquarry.Admin", "keyquarry.KeyQuarry"]


def test_health_check_list_and_watch_follow_readiness_until_shutdown():
    server = Server()
    try:
        with grpc.insecure_channel(server.grpc) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "keyquarry.KeyQuarry", "keyquarry.Admin"):
                assert health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10).status == SERVING
            with pytest.raises(grpc.RpcError) as unknown:
                health.Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=10)
            assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
            listed = health.List(health_pb2.HealthListRequest(), timeout=10).statuses
            assert {name: status.status for name, status in listed.items()} == {
                "": SERVING, "keyquarry.KeyQuarry": SERVING, "keyquarry.Admin": SERVING}

            stranger = health.Watch(health_pb2.HealthCheckRequest(service="no.Such"), timeout=20)
            assert next(stranger).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
            stranger.cancel()

            watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=20)
            assert next(watch).status == SERVING
            # A graceful shutdown: NOT_SERVING, then the stream ends and holds nothing up.
            server.process.send_signal(signal.SIGTERM)
            assert next(watch).status == NOT_SERVING
            with pytest.raises(StopIteration):
                next(watch)
        assert server.process.wait(timeout=20) == 0
    finally:
        if server.process.poll() is None:
            server.stop()


def test_reflection_lists_and_describes_every_service(server):
    with grpc.insecure_channel(server.grpc) as channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        assert sorted(database.get_services()) == SERVICES
        pool = DescriptorPool(database)
        service = pool.FindServiceByName("keyquarry.KeyQuarry")
        assert {"Set", "Get", "WatchStream", "WatchKeyValue", "ListKeys"} <= {m.name for m in service.methods}
        key_value = pool.FindMessageTypeByName("keyquarry.KeyValue")
        assert (key_value.fields_by_name["key"].number, key_value.fields_by_name["value"].number) == (1, 2)
        # An imported file comes with the file that imports it.
        lifespan = key_value.fields_by_name["lifespan"].message_type
        assert lifespan.full_name == "google.protobuf.Duration"
        with pytest.raises(KeyError):
            pool.FindMessageTypeByName("keyquarry.NoSuchMessage")


def test_reflection_v1_answers_like_v1alpha(server):
    """grpcurl asks v1 first; its messages are v1alpha's in another package."""
    with grpc.insecure_channel(server.grpc) as channel:
        call = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
            response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
        requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol="keyquarry.Admin.Prune"),
                    reflection_pb2.ServerReflectionRequest(file_by_filename="nothing.proto")]
        listed, admin, missing = list(call(iter(requests), timeout=10))
        assert sorted(s.name for s in listed.list_services_response.service) == SERVICES
        assert admin.file_descriptor_response.file_descriptor_proto, "the file defining keyquarry.Admin"
        assert missing.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
