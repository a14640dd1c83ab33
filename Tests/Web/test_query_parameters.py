"""Every route refuses a query parameter it does not know (400, naming it) and accepts
each one the OpenAPI document lists for it: a guessed name must fail, never be ignored."""
import json
import urllib.error
import urllib.parse
import urllib.request

import yaml

from conftest import ROOT

SPEC = yaml.safe_load((ROOT / "openapi/keyquarry.yaml").read_text())


def parameters(spec_parameters):
    for parameter in spec_parameters:
        if "$ref" in parameter:
            parameter = SPEC["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        yield parameter


def operations():
    for path, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            given = list(parameters(item.get("parameters", []) + operation.get("parameters", [])))
            yield path, method.upper(), {p["name"] for p in given if p["in"] == "query"}


def send(server, method, path, query):
    concrete = path.replace("{key}", "k").replace("{version}", "1")
    url = server.http + concrete + ("?" + urllib.parse.urlencode(query) if query else "")
    body = b"" if method in ("POST", "PUT") else None
    request = urllib.request.Request(url, data=body, method=method, headers={"Client-Id": "pytest"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            # Watch routes stream: their head is the answer; the stream is left unread.
            return response.status, b"" if response.headers.get("Content-Type", "").startswith(
                ("text/event-stream", "application/x-ndjson")) else response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_every_route_refuses_an_unknown_parameter_by_name(server):
    walked = 0
    for path, method, documented in operations():
        status, body = send(server, method, path, {"bogus_param": "1"})
        assert status == 400, f"{method} {path}: {status} {body!r}"
        if method != "HEAD":
            message = json.loads(body)["message"]
            assert 'unknown query parameter "bogus_param"' in message, f"{method} {path}: {message}"
            # The route names what it takes: exactly what the document lists.
            taken = set(message.split("this route takes: ")[1].split(", "))
            assert taken == documented | {"client_id"}, f"{method} {path}"
        walked += 1
    assert walked >= 25


def test_every_documented_parameter_is_understood(server):
    for path, method, names in operations():
        if path == "/v1/admin/shutdown":
            continue  # answered 403 for this caller, but never worth the risk
        for name in names:
            status, body = send(server, method, path, {name: "1"})
            assert b"unknown query parameter" not in body, f"{method} {path} ?{name}: {status} {body!r}"


def test_a_guessed_parameter_on_a_destructive_route_changes_nothing(server):
    assert server.client("set", "tmp/a", "1").returncode == 0
    assert server.client("set", "keep", "1").returncode == 0
    status, body = send(server, "POST", "/v1/clear", {"prefix": "tmp/"})
    assert status == 400 and '"prefix"' in json.loads(body)["message"]
    status, body = send(server, "PUT", "/v1/keys/{key}", {"ttl": "10s"})
    assert status == 400 and '"ttl"' in json.loads(body)["message"]
    assert server.client("list").stdout.decode().split() == ["keep", "tmp/a"]
