"""Web pages cannot use a gateway on the developer's machine: a cross-site request that
changes state is refused (403) before anything runs, and a Host that is not the
machine's (DNS rebinding) gets 421; same-origin pages, trusted origins and clients that
are not browsers (curl, the CLI) are served."""
import http.client
import json
from urllib.parse import urlsplit

import pytest

from conftest import Server

PUT_HEADERS = {"Content-Type": "application/octet-stream", "Client-Id": "browser-test"}


def request(server, method, path, headers=None, body=None):
    address = urlsplit(server.http)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def has_key(server, key):
    status, body = request(server, "GET", f"/v1/keys/{key}/exists", {"Client-Id": "browser-test"})
    assert status == 200, body
    return json.loads(body).get("exists", False)


@pytest.fixture
def seeded(server):
    assert request(server, "PUT", "/v1/keys/kept", PUT_HEADERS, b"v")[0] in (200, 201)
    return server


CROSS_SITE = [
    {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},  # another port on the machine
    {"Origin": "http://evil.example"},  # a browser without Sec-Fetch-Site
    {"Origin": "null"},  # a sandboxed page or a file: URL
]


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_cross_site_request_cannot_change_the_store(seeded, headers):
    # The attack of the issue: a form posted to /v1/clear, no Client-Id, no preflight.
    status, body = request(seeded, "POST", "/v1/clear?force=true", headers)
    assert status == 403 and b"another site" in body
    status, _ = request(seeded, "PUT", "/v1/keys/planted", {**PUT_HEADERS, **headers}, b"x")
    assert status == 403
    status, _ = request(seeded, "DELETE", "/v1/keys/kept", {**PUT_HEADERS, **headers})
    assert status == 403
    assert has_key(seeded, "kept") and not has_key(seeded, "planted")
    # Reads stay open (CORS decides what a page may read).
    assert request(seeded, "GET", "/v1/keys/kept", {**PUT_HEADERS, **headers})[0] == 200


@pytest.mark.parametrize("headers", [
    {},  # curl, the CLI, scripts: no Origin, no Sec-Fetch-Site
    {"Sec-Fetch-Site": "same-origin"},  # the gateway's own page
    {"Sec-Fetch-Site": "none"},  # typed into the address bar
])
def test_same_origin_and_non_browser_requests_are_served(seeded, headers):
    assert request(seeded, "PUT", "/v1/keys/more", {**PUT_HEADERS, **headers}, b"x")[0] in (200, 201)
    assert has_key(seeded, "more")


def test_an_origin_without_sec_fetch_site_is_compared_with_the_host(seeded):
    host = urlsplit(seeded.http).netloc
    assert request(seeded, "PUT", "/v1/keys/same", {**PUT_HEADERS, "Origin": f"http://{host}"}, b"x")[0] in (200, 201)


def test_trusted_origins_may_change_the_store():
    server = Server(extra_env={"KEYQUARRY_HTTP_CORS_ORIGINS": "http://app.example"})
    try:
        headers = {**PUT_HEADERS, "Origin": "http://app.example", "Sec-Fetch-Site": "cross-site"}
        assert request(server, "PUT", "/v1/keys/app", headers, b"x")[0] in (200, 201)
        other = {**PUT_HEADERS, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
        assert request(server, "PUT", "/v1/keys/evil", other, b"x")[0] == 403
    finally:
        assert server.stop() == 0


@pytest.mark.parametrize("host", ["evil.example", "evil.example:33971", "localhost.evil.example"])
def test_a_foreign_host_is_refused_whatever_the_method(seeded, host):
    for method, path in [("GET", "/v1/keys/kept"), ("POST", "/v1/clear?force=true"), ("GET", "/")]:
        status, body = request(seeded, method, path, {**PUT_HEADERS, "Host": host})
        assert status == 421 and b"http_allowed_hosts" in body, (method, path)
    assert has_key(seeded, "kept")


@pytest.mark.parametrize("host", ["localhost", "localhost:1234", "127.0.0.1", "[::1]:80", "10.1.2.3", "app.localhost"])
def test_the_machines_own_hosts_are_served(seeded, host):
    assert request(seeded, "GET", "/v1/keys/kept", {**PUT_HEADERS, "Host": host})[0] == 200


def test_allowed_hosts_extend_the_defaults():
    server = Server(extra_env={"KEYQUARRY_HTTP_ALLOWED_HOSTS": "kv.internal, other.example"})
    try:
        assert request(server, "PUT", "/v1/keys/k", {**PUT_HEADERS, "Host": "kv.internal:80"}, b"x")[0] in (200, 201)
        assert request(server, "GET", "/v1/keys/k", {**PUT_HEADERS, "Host": "evil.example"})[0] == 421
    finally:
        assert server.stop() == 0
    server = Server(extra_env={"KEYQUARRY_HTTP_ALLOWED_HOSTS": "*"})
    try:
        assert request(server, "GET", "/v1/stats", {**PUT_HEADERS, "Host": "anything.example"})[0] == 200
    finally:
        assert server.stop() == 0


def test_a_gateway_on_all_interfaces_serves_any_host_but_still_refuses_cross_site_changes():
    # Reached by names it cannot know (a container's service name); the rebinding check
    # guards loopback gateways, or this one once http_allowed_hosts is set.
    server = Server(args=("--http-address", "0.0.0.0:0"))
    try:
        assert request(server, "PUT", "/v1/keys/k", {**PUT_HEADERS, "Host": "keyquarry:33971"}, b"x")[0] in (200, 201)
        cross = {**PUT_HEADERS, "Host": "keyquarry:33971", "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
        assert request(server, "POST", "/v1/clear?force=true", cross)[0] == 403
        assert has_key(server, "k")
    finally:
        assert server.stop() == 0
