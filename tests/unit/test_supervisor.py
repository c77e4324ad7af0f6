"""``sitrep run``'s supervisor on real child processes (tiny Python programs, no servers)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from sitrep.supervisor import Supervisor, service_commands


def test_the_services_are_the_cli_commands_docker_compose_runs() -> None:
    names = [(name, argv[-1]) for name, argv in service_commands(2, 1, True)]
    assert names == [("poller-1", "poller"), ("poller-2", "poller"), ("worker-1", "worker"),
                     ("api", "api")]
    assert [name for name, _ in service_commands(0, 1, False)] == ["worker-1"]


def test_a_dead_child_is_restarted_with_growing_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    program = f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(3)"
    supervisor = Supervisor([("crasher", [sys.executable, "-c", program])], max_backoff=0.4)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and supervisor.children[0].restarts < 3:
        supervisor.check()
        time.sleep(0.05)
    supervisor.stop()
    child = supervisor.children[0]
    assert child.restarts >= 3
    assert child.backoff == 0.4  # 1.0 would double; the cap holds it
    assert len(starts.read_text()) >= 3


def test_stop_terminates_children_and_kills_those_that_ignore_it(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
               "print('ready', flush=True); time.sleep(60)"
    polite = "import time; time.sleep(60)"
    supervisor = Supervisor([("stubborn", [sys.executable, "-c", stubborn]),
                             ("polite", [sys.executable, "-c", polite])], grace=1.0)
    supervisor.check()
    time.sleep(0.5)  # let the stubborn one install its handler
    started = time.monotonic()
    supervisor.stop()
    assert time.monotonic() - started < 10
    for child in supervisor.children:
        assert child.process is not None and child.process.poll() is not None
    codes = {c.name: c.process.returncode for c in supervisor.children if c.process}
    assert codes["polite"] == -15 and codes["stubborn"] == -9
