"""docker-compose.yml cannot run here (no Docker engine), so the file itself is checked:
the servers it runs are the versions the local stack proves, and every service waits for
what it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sitrep.config import ELASTICSEARCH_VERSION, KAFKA_VERSION


@pytest.fixture(scope="module")
def compose(repo_root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo_root / "docker-compose.yml").read_text())
    return data


def image(compose: dict[str, Any], service: str) -> str:
    return str(compose["services"][service]["image"])


def test_compose_runs_every_part_of_the_pipeline(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "kafka", "elasticsearch", "kibana", "setup", "poller", "worker", "api"
    }


def test_server_images_match_the_local_stack_versions(compose: dict[str, Any]) -> None:
    assert image(compose, "kafka") == f"apache/kafka:{KAFKA_VERSION}"
    es = f"docker.elastic.co/elasticsearch/elasticsearch:{ELASTICSEARCH_VERSION}"
    assert image(compose, "elasticsearch") == es
    kibana = f"docker.elastic.co/kibana/kibana:{ELASTICSEARCH_VERSION}"
    assert image(compose, "kibana") == kibana


def test_servers_have_health_checks_and_volumes(compose: dict[str, Any]) -> None:
    for name in ("kafka", "elasticsearch", "kibana"):
        check = compose["services"][name]["healthcheck"]
        assert check["test"] and check["retries"] >= 5, name
    assert "kafka-data" in compose["volumes"]
    assert "es-data" in compose["volumes"]
    assert any("kafka-data" in v for v in compose["services"]["kafka"]["volumes"])
    assert any("es-data" in v for v in compose["services"]["elasticsearch"]["volumes"])


def test_kafka_runs_in_kraft_mode_without_zookeeper(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "zookeeper" not in yaml.safe_dump(compose).lower()
    assert len(env["CLUSTER_ID"]) == 22  # base64 of 16 bytes, as kafka-storage requires


def test_setup_runs_once_after_the_servers_are_healthy(compose: dict[str, Any]) -> None:
    setup = compose["services"]["setup"]
    assert setup["command"] == ["sitrep", "setup"]
    assert setup["restart"] == "no"
    assert setup["build"]["dockerfile"] == "deploy/Dockerfile"
    for server in ("kafka", "elasticsearch", "kibana"):
        assert setup["depends_on"][server]["condition"] == "service_healthy"


def test_sitrep_services_wait_for_setup_and_reach_the_servers(compose: dict[str, Any]) -> None:
    for name, command in (("poller", "poller"), ("worker", "worker"), ("api", "api")):
        service = compose["services"][name]
        assert service["command"] == ["sitrep", command]
        assert service["image"] == compose["services"]["setup"]["image"]
        assert service["depends_on"]["setup"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["SITREP_KAFKA_BOOTSTRAP"] == "kafka:9092"
        assert env["SITREP_ES_URL"] == "http://elasticsearch:9200"


def test_dockerfile_installs_the_pinned_dependencies(repo_root: Path) -> None:
    dockerfile = (repo_root / "deploy" / "Dockerfile").read_text()
    assert "-c constraints.txt" in dockerfile
    assert "USER sitrep" in dockerfile  # not root
