"""Settings: one place, from the environment, with errors that name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from sitrep.cli import app, config_table_markdown
from sitrep.config import Settings


def test_defaults_point_at_the_local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("SITREP_KAFKA_BOOTSTRAP", "SITREP_ES_URL", "SITREP_KAFKA_PORT", "SITREP_ES_PORT"):
        monkeypatch.delenv(var, raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.kafka_servers == f"127.0.0.1:{settings.kafka_port}"
    assert settings.elasticsearch_url == f"http://127.0.0.1:{settings.es_port}"


def test_environment_overrides_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_KAFKA_BOOTSTRAP", "kafka:9092")
    monkeypatch.setenv("SITREP_ES_URL", "http://elasticsearch:9200")
    monkeypatch.setenv("SITREP_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("SITREP_STACK_DIR", "/srv/sitrep-stack")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.kafka_servers == "kafka:9092"
    assert settings.elasticsearch_url == "http://elasticsearch:9200"
    assert settings.topic("articles.raw") == "staging.articles.raw"
    assert settings.stack_dir == Path("/srv/sitrep-stack")


def test_bad_values_are_rejected_with_the_setting_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITREP_KAFKA_PORT", "not-a-port")
    with pytest.raises(ValidationError, match="kafka_port"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_heap_sizes_must_be_jvm_sizes() -> None:
    with pytest.raises(ValidationError, match="not a JVM heap size"):
        Settings(_env_file=None, es_heap="lots")  # type: ignore[call-arg]


def test_stack_ports_must_differ() -> None:
    with pytest.raises(ValidationError, match="ports must all differ"):
        Settings(_env_file=None, kafka_port=19200, es_port=19200)  # type: ignore[call-arg]


def test_cli_reports_bad_configuration_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from sitrep.config import get_settings

    get_settings.cache_clear()
    monkeypatch.setenv("SITREP_ES_PORT", "70000")
    try:
        result = CliRunner().invoke(app, ["config"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    assert "SITREP_ES_PORT" in result.output
    assert "Traceback" not in result.output


def test_readme_configuration_table_is_the_generated_one(repo_root: Path) -> None:
    readme = (repo_root / "README.md").read_text()
    assert config_table_markdown() in readme, (
        "README's configuration table is stale: paste `sitrep config --markdown` into it"
    )


def test_every_setting_is_documented() -> None:
    for name, info in Settings.model_fields.items():
        assert info.description and len(info.description) > 10, name
        assert re.fullmatch(r"[a-z0-9_]+", name)
