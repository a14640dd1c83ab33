"""The Dockerfile and docker-compose.yml: no Docker engine runs here, so compose checks
the file, the image's build steps are compared with the README's, and the server is
started with the compose file's own environment."""
import json
import pathlib
import re
import shutil
import subprocess
import urllib.request

import yaml

from conftest import ROOT, Server


def compose_config():
    """The compose file as `docker compose config` resolves it (v2 plugin, else v1)."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        command = ["docker", "compose"]
    else:
        assert shutil.which("docker-compose"), "scripts/test-deps installs docker-compose"
        command = ["docker-compose"]
    result = subprocess.run(
        [*command, "-f", str(ROOT / "docker-compose.yml"), "config"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_compose_file_is_valid_and_complete():
    services = compose_config()["services"]
    assert set(services) == {"server", "postgres", "jaeger", "client"}
    server = services["server"]
    assert server["environment"]["KEYQUARRY_TRACE"] == "true"
    assert server["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://jaeger:4317"
    assert "@postgres:5432/" in server["environment"]["KEYQUARRY_SNAPSHOT_DATABASE"]
    assert "readyz" in " ".join(server["healthcheck"]["test"])
    assert "watch" in services["client"]["command"]
    assert services["jaeger"]["environment"]["COLLECTOR_OTLP_ENABLED"] == "true"


def test_dockerfile_build_steps_are_the_readmes():
    dockerfile = (ROOT / "Dockerfile").read_text()
    readme = (ROOT / "README.md").read_text()
    builder = dockerfile.split("\nFROM ")[1]
    steps = [line[len("RUN "):] for line in builder.splitlines() if line.startswith("RUN ")]
    assert any(step.startswith("swift build") for step in steps)
    for step in steps:
        assert step in readme, f"Dockerfile step not in the README: {step}"


def test_server_starts_with_the_compose_environment(tmp_path):
    """Every KEYQUARRY_* value of the compose file and the image is one the server accepts."""
    environment = dict(compose_config()["services"]["server"]["environment"])
    image_env = re.findall(r"(KEYQUARRY_\w+)=(\S+)", (ROOT / "Dockerfile").read_text())
    environment.update(dict(image_env))
    # Loopback stand-ins for the other containers, on free ports.
    environment.update({
        "KEYQUARRY_SNAPSHOT_DATABASE": f"sqlite://{tmp_path / 'compose.db'}",
        "KEYQUARRY_LISTEN_ADDRESS": "127.0.0.1:0",
        "KEYQUARRY_HTTP_ADDRESS": "127.0.0.1:0",
        "KEYQUARRY_MONITOR_ADDRESS": "127.0.0.1:0",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9",
    })
    server = Server(extra_env=environment, args=("--monitor-address", "127.0.0.1:0"))
    try:
        with urllib.request.urlopen(server.monitor + "/readyz", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(server.monitor + "/debug/vars", timeout=10) as response:
            assert json.load(response)["keyquarry"]["keys"] == 0
    finally:
        assert server.stop() == 0
