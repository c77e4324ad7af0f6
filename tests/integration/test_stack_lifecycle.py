"""``sitrep stack up / status / down`` as a user runs them, on a second, private stack.

These tests start their own Kafka and Elasticsearch (own folder, own ports) beside the
session's stack, so stopping them cannot disturb the other integration tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sitrep.config import Settings
from sitrep.stack import port_in_use

SITREP = [sys.executable, "-m", "sitrep"]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def stack_env(
    stack_dir: Path, ports: list[int], settings: Settings, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SITREP_")}
    env.update(
        SITREP_STACK_DIR=str(stack_dir),
        SITREP_STACK_CACHE_DIR=str(settings.stack_cache_dir),  # reuse the downloads
        SITREP_KAFKA_PORT=str(ports[0]),
        SITREP_KAFKA_CONTROLLER_PORT=str(ports[1]),
        SITREP_ES_PORT=str(ports[2]),
        SITREP_ES_TRANSPORT_PORT=str(ports[3]),
        SITREP_ES_HEAP="512m",
        SITREP_KAFKA_HEAP="256m",
        COLUMNS="200",
    )
    env.update(extra)
    return env


def sitrep(
    env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SITREP, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def private_stack(tmp_path: Path, settings: Settings) -> Iterator[tuple[dict[str, str], list[int]]]:
    ports = free_ports(4)
    env = stack_env(tmp_path / "stack", ports, settings)
    yield env, ports
    sitrep(env, "stack", "down")


def test_up_is_idempotent_status_reports_versions_and_down_frees_every_port(
    private_stack: tuple[dict[str, str], list[int]], settings: Settings
) -> None:
    env, ports = private_stack
    first = sitrep(env, "stack", "up")
    assert first.returncode == 0, first.stderr + first.stdout

    again = sitrep(env, "stack", "up")
    assert again.returncode == 0, again.stderr
    assert "started" not in again.stderr, "a second `up` must not start anything"

    status = sitrep(env, "stack", "status")
    assert status.returncode == 0, status.stdout
    assert settings.kafka_version in status.stdout
    assert settings.es_version in status.stdout
    assert status.stdout.count("healthy") == 2

    down = sitrep(env, "stack", "down")
    assert down.returncode == 0
    assert "kafka" in down.stdout and "elasticsearch" in down.stdout
    assert [p for p in ports if port_in_use(p)] == []

    after = sitrep(env, "stack", "status")
    assert after.returncode == 1
    assert after.stdout.count("stopped") == 2


def test_up_fails_fast_naming_a_taken_kafka_port(tmp_path: Path, settings: Settings) -> None:
    ports = free_ports(4)
    env = stack_env(tmp_path / "stack", ports, settings)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[0]))
        squatter.listen()
        started = time.monotonic()
        result = sitrep(env, "stack", "up", timeout=90)
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"port {ports[0]}" in result.stderr
    assert "already in use" in result.stderr
    assert elapsed < 60
    # Nothing was left running on the other ports.
    assert [p for p in ports[1:] if port_in_use(p)] == []


def test_up_without_java_says_so(tmp_path: Path, settings: Settings) -> None:
    env = stack_env(
        tmp_path / "stack", free_ports(4), settings,
        SITREP_JAVA_HOME=str(tmp_path / "no-jdk"), JAVA_HOME=str(tmp_path / "no-jdk"),
        PATH="/usr/bin/nonexistent",
    )
    result = sitrep(env, "stack", "up", timeout=90)
    assert result.returncode == 1
    assert "no Java" in result.stderr


def test_a_server_that_dies_at_start_fails_with_its_log_tail(
    tmp_path: Path, settings: Settings
) -> None:
    """A heap size the JVM rejects makes the broker exit at once: `up` must say so quickly."""
    env = stack_env(tmp_path / "stack", free_ports(4), settings, SITREP_KAFKA_HEAP="1k")
    started = time.monotonic()
    result = sitrep(env, "stack", "up", timeout=120)
    assert result.returncode == 1
    assert "kafka did not come up" in result.stderr
    assert "last lines of" in result.stderr
    assert time.monotonic() - started < 60
    sitrep(env, "stack", "down")
