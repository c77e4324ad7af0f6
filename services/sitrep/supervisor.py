"""``sitrep run``: every service of a single-machine deployment under one supervisor.

docker compose runs ``sitrep poller``, ``sitrep worker`` and ``sitrep api`` as separate
containers; on one machine without Docker, ``sitrep run`` starts the same commands as child
processes (so each keeps its own event loop and a crash stays contained), restarts a child
that dies with an exponential backoff, and on SIGTERM/SIGINT stops them all, giving each the
time to commit its offsets before it is killed.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType

from sitrep.logs import get_logger

log = get_logger(__name__)

#: A child that ran this long before dying is considered healthy: its backoff starts over.
STABLE_AFTER = 60.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = 0.0
    backoff: float = field(default=1.0)


def service_commands(pollers: int, workers: int, api: bool) -> list[tuple[str, list[str]]]:
    """The children of ``sitrep run``: names and command lines."""
    base = [sys.executable, "-m", "sitrep"]
    children = [(f"poller-{i + 1}", [*base, "poller"]) for i in range(pollers)]
    children += [(f"worker-{i + 1}", [*base, "worker"]) for i in range(workers)]
    if api:
        children.append(("api", [*base, "api"]))
    return children


class Supervisor:
    """Start, watch, restart and stop child processes."""

    def __init__(self, commands: Sequence[tuple[str, list[str]]], *, max_backoff: float = 30.0,
                 grace: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.children = [Child(name, argv) for name, argv in commands]
        self.max_backoff = max_backoff
        self.grace = grace
        self.clock = clock
        self.stopping = False

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv)
        child.started_at = self.clock()
        log.info("started", service=child.name, pid=child.process.pid)

    def check(self) -> None:
        """One round: restart children that exited and whose backoff has passed."""
        now = self.clock()
        for child in self.children:
            process = child.process
            if process is not None and process.poll() is None:
                continue
            if process is not None:  # it died: schedule the restart
                if now - child.started_at > STABLE_AFTER:
                    child.backoff = 1.0
                child.next_start = now + child.backoff
                log.warning("service exited; restarting", service=child.name,
                            code=process.returncode, in_seconds=child.backoff)
                child.backoff = min(child.backoff * 2, self.max_backoff)
                child.restarts += 1
                child.process = None
            if now >= child.next_start:
                self._start(child)

    def stop(self) -> None:
        """SIGTERM to every child, SIGKILL to those still running after the grace period."""
        self.stopping = True
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = self.clock() + self.grace
        for process in running:
            try:
                process.wait(max(0.1, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                log.warning("service did not stop in time; killing", pid=process.pid)
                process.kill()
                process.wait()

    def run(self, interval: float = 0.5) -> None:
        """Supervise until SIGTERM or SIGINT."""

        def on_signal(signum: int, frame: FrameType | None) -> None:
            self.stopping = True

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while not self.stopping:
                self.check()
                time.sleep(interval)
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
