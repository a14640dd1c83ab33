"""grpc-timeout on every path: a call whose deadline has passed when its request is in is
answered DEADLINE_EXCEEDED and not applied; a watch or a forwarded call still going at its
deadline is ended by the server with DEADLINE_EXCEEDED; a malformed value is refused."""
import time

from test_grpc_wire import RawConnection, frame, key, key_value, message, status


def exists(raw, name):
    response = raw.call("/keyquarry.KeyQuarry/Exists", frame(key(name)))
    assert status(response) == 0
    return response["data"][5:] == b"\x08\x01"


def test_a_past_deadline_is_not_applied(server):
    raw = RawConnection(server.grpc)
    try:
        late = raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("late", b"v")), headers={"grpc-timeout": "1n"})
        assert status(late) == 4 and not exists(raw, "late")  # DEADLINE_EXCEEDED, a direct call
        listed = raw.call("/keyquarry.KeyQuarry/ListKeys", frame(b""), headers={"grpc-timeout": "1n"})
        assert status(listed) == 4  # a forwarded call
        on_time = raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("on-time", b"v")), headers={"grpc-timeout": "10S"})
        assert status(on_time) == 0 and exists(raw, "on-time")
    finally:
        raw.close()


def test_a_malformed_timeout_is_refused(server):
    raw = RawConnection(server.grpc)
    try:
        for value in ["99999999999S", "5x", "S", "-1S", "1.5S"]:
            refused = raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("bad", b"v")), headers={"grpc-timeout": value})
            assert status(refused) == 13 and "grpc-timeout" in message(refused), value
        assert not exists(raw, "bad")
    finally:
        raw.close()


def test_calls_still_going_at_their_deadline_are_ended_by_the_server(server):
    raw = RawConnection(server.grpc)
    try:
        assert status(raw.call("/keyquarry.KeyQuarry/Set", frame(key_value("watched", b"v")))) == 0
        for path in ["/keyquarry.KeyQuarry/WatchStream", "/keyquarry.KeyQuarry/WatchKeyValue"]:
            started = time.monotonic()
            response = raw.call(path, frame(key("watched")), headers={"grpc-timeout": "300m"})
            took = time.monotonic() - started
            assert status(response) == 4, path
            assert 0.25 <= took < 5, (path, took)
        assert exists(raw, "watched"), "the connection serves on"
    finally:
        raw.close()
