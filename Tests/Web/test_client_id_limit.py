"""Registered client ids are bounded (`max_client_ids`): past the limit Register is
RESOURCE_EXHAUSTED on gRPC and 429 on REST, naming the limit; ids already registered
still answer AlreadyExists, and every other call goes on."""
import json
import urllib.error
import urllib.request

from conftest import Server


def register(server, client_id):
    request = urllib.request.Request(f"{server.http}/v1/register?client_id={client_id}", method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_registration_stops_at_max_client_ids():
    server = Server(extra_env={"KEYQUARRY_MAX_CLIENT_IDS": "2"})
    try:
        assert register(server, "first")[0] == 200
        assert server.client("register", client_id="second").returncode == 0
        status, body = register(server, "third")
        assert status == 429 and "max_client_ids: 2" in body["message"], body
        refused = server.client("register", client_id="fourth")
        assert refused.returncode != 0 and b"max_client_ids: 2" in refused.stderr, refused.stderr
        assert register(server, "first")[0] == 409
        # The CLI registers before every command; a full registry does not stop the command.
        assert server.client("set", "k", "v", client_id="third").returncode == 0
    finally:
        assert server.stop() == 0
