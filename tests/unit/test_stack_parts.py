"""The pure parts of the local stack, checked without starting servers."""

from __future__ import annotations

import os
import re
import shutil
import socket
import stat
import zipfile
from pathlib import Path

import pytest

from sitrep.config import ELASTICSEARCH_VERSION, KAFKA_VERSION, Settings
from sitrep.stack import (
    StackError,
    extract_zip,
    find_java_home,
    java_major_version,
    new_cluster_id,
    port_in_use,
    tail,
)


def pom_property(pom: Path, name: str) -> str:
    match = re.search(rf"<{re.escape(name)}>([^<]+)</{re.escape(name)}>", pom.read_text())
    assert match, f"{name} not in {pom}"
    return match.group(1)


def test_pom_defaults_match_the_configured_versions(repo_root: Path) -> None:
    local = repo_root / "deploy" / "local"
    assert pom_property(local / "kafka" / "pom.xml", "kafka.version") == KAFKA_VERSION
    assert pom_property(local / "elasticsearch" / "pom.xml", "es.version") == ELASTICSEARCH_VERSION


def test_port_in_use_sees_a_listening_socket() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        assert port_in_use(port)
    assert not port_in_use(port)


def test_extract_zip_keeps_executable_bits(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("dist/bin/run")
        info.external_attr = (stat.S_IFREG | 0o755) << 16
        zf.writestr(info, "#!/bin/sh\necho hi\n")
        zf.writestr("dist/README", "text")
    extract_zip(archive, tmp_path / "out")
    assert os.access(tmp_path / "out" / "dist" / "bin" / "run", os.X_OK)
    assert (tmp_path / "out" / "dist" / "README").read_text() == "text"


def test_tail_returns_the_last_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    assert tail(log, 3).splitlines() == ["line 997", "line 998", "line 999"]
    assert tail(tmp_path / "missing.log") == ""


def test_java_on_this_machine_is_found_with_its_version() -> None:
    java = shutil.which("java")
    assert java, "the machine has a JDK (see README)"
    home = find_java_home(Settings(_env_file=None))  # type: ignore[call-arg]
    assert java_major_version(home / "bin" / "java") >= 17


def test_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nojdk"))
    monkeypatch.setenv("PATH", str(tmp_path))
    settings = Settings(_env_file=None, java_home=tmp_path / "nojdk")  # type: ignore[call-arg]
    with pytest.raises(StackError, match="no Java 17"):
        find_java_home(settings)


def test_cluster_ids_never_look_like_an_option() -> None:
    """Kafka's storage tool reads an id that starts with "-" as an option; 1 in 64 random
    ids would, so a fresh stack failed to format its storage now and then."""
    ids = [new_cluster_id() for _ in range(5000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 and re.fullmatch(r"[A-Za-z0-9_-]+", i) for i in ids)
    assert len(set(ids)) == len(ids)
