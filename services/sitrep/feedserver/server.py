"""Running the feed fixture server: in-process for tests, as a process for benchmarks.

:func:`serve` is the in-process entry point (an async context manager yielding a
:class:`FeedServer` with its ``base_url`` and mutation methods); :func:`main` is the CLI
behind ``python -m sitrep.feedserver``. Both bind to 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from .app import STATE_KEY, build_app, entry_json
from .config import DEFAULT_BASE_TIME, FeedServerConfig
from .state import ServerState

log = logging.getLogger(__name__)


def feed_urls(base_url: str, count: int) -> list[str]:
    """URLs of the first ``count`` generated feeds of the server at ``base_url``."""
    base = base_url.rstrip("/")
    return [f"{base}/feeds/{n}.xml" for n in range(count)]


class FeedServer:
    """A running server: its address plus the admin operations, as plain method calls.

    The methods act on the same state the ``/admin/`` endpoints use; call them from the
    event loop thread the server runs on (which is where an ``async`` test runs anyway).
    """

    def __init__(self, app: web.Application, base_url: str, port: int) -> None:
        self.app = app
        self.base_url = base_url
        self.port = port
        self.state: ServerState = app[STATE_KEY]
        self.config: FeedServerConfig = self.state.config

    def feed_url(self, n: int) -> str:
        """URL of generated feed ``n``."""
        return f"{self.base_url}/feeds/{n}.xml"

    def stale_url(self, n: int) -> str:
        """URL of the stale-validators twin of feed ``n``."""
        return f"{self.base_url}/stale/{n}.xml"

    def article_url(self, n: int, i: int) -> str:
        """URL of the article of entry ``i`` (0 = oldest) of feed ``n``."""
        return f"{self.base_url}/articles/{n}/{i}.html"

    def bad_url(self, path: str) -> str:
        """URL of a misbehaviour, e.g. ``bad_url("malformed.xml")``."""
        return f"{self.base_url}/bad/{path.lstrip('/').removeprefix('bad/')}"

    def feed_urls(self, count: int | None = None) -> list[str]:
        """URLs of the first ``count`` (default: all) generated feeds."""
        return feed_urls(self.base_url, self.config.feeds if count is None else count)

    def add_entry(self, n: int) -> dict[str, Any]:
        """Publish one new entry at the top of feed ``n``; returns it as the admin API does."""
        return self.add_entries(n, 1)[0]

    def add_entries(self, n: int, count: int) -> list[dict[str, Any]]:
        """Publish ``count`` new entries at the top of feed ``n`` (newest first)."""
        return [entry_json(e, self.base_url) for e in self.state.store.add_entries(n, count)]

    def set_status(self, n: int, status: int, retry_after: int | None = None) -> None:
        """Make feed ``n`` answer ``status`` (404, 410, 429, 500, 503; 200 restores it)."""
        self.state.store.set_status(n, status, retry_after)

    def etag(self, n: int) -> str:
        """The ETag feed ``n`` currently answers with (identity encoding)."""
        return self.state.store.validators(n).etag

    def reset(self) -> None:
        """Undo every mutation and zero the statistics."""
        self.state.reset()

    def reset_stats(self) -> None:
        """Zero the statistics only."""
        self.state.stats.reset()

    def stats(self, per_path: bool = True) -> dict[str, Any]:
        """The same JSON-ready dict ``GET /admin/stats`` returns."""
        return self.state.stats.snapshot(per_path=per_path)


@asynccontextmanager
async def serve(
    config: FeedServerConfig, *, shutdown_timeout: float = 1.0
) -> AsyncIterator[FeedServer]:
    """Run the server on ``config.host``:``config.port`` (0: an ephemeral port).

    Handlers of clients that disconnect are cancelled (``handler_cancellation``), so a
    test that abandons ``/bad/slow`` does not keep the server busy; on exit, requests still
    running get ``shutdown_timeout`` seconds before they are cut off.
    """
    app = build_app(config)
    runner = web.AppRunner(
        app,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        host, port = runner.addresses[0][:2]
        authority = f"[{host}]" if ":" in host else host
        yield FeedServer(app, f"http://{authority}:{port}", port)
    finally:
        await runner.cleanup()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sitrep.feedserver",
        description="Local news-feed fixture server: generated RSS/Atom feeds, articles, "
        "misbehaving endpoints under /bad/ and an admin API under /admin/.",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default: %(default)s)"
    )
    parser.add_argument("--port", type=int, default=8700, help="0 picks a free port")
    parser.add_argument("--feeds", type=int, default=200, help="number of generated feeds")
    parser.add_argument("--entries", type=int, default=20, help="entries per feed")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--atom-share", type=float, default=0.3, help="share of Atom feeds")
    parser.add_argument(
        "--base-time",
        type=datetime.fromisoformat,
        default=DEFAULT_BASE_TIME,
        help="ISO 8601 time of the newest generated entry (default: %(default)s)",
    )
    parser.add_argument("--demo-manifest", type=Path, help="YAML manifest of demo sites")
    parser.add_argument("--log-level", default="WARNING")
    return parser


async def _serve_until_signalled(config: FeedServerConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    async with serve(config) as server:
        # Benchmarks started with --port 0 read the address from this line.
        print(
            f"sitrep feedserver listening on {server.base_url} "
            f"({config.feeds} feeds x {config.entries} entries, seed {config.seed})",
            flush=True,
        )
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    base_time = args.base_time
    if base_time.tzinfo is None:
        base_time = base_time.replace(tzinfo=DEFAULT_BASE_TIME.tzinfo)
    try:
        config = FeedServerConfig(
            feeds=args.feeds,
            entries=args.entries,
            seed=args.seed,
            atom_share=args.atom_share,
            base_time=base_time,
            demo_manifest=args.demo_manifest,
            host=args.host,
            port=args.port,
        )
        asyncio.run(_serve_until_signalled(config))
    except ValueError as exc:  # bad option values, manifest errors
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # e.g. the port is taken
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
