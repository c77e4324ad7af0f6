"""A local news-site simulator for tests, benchmarks and the demo.

It serves thousands of deterministic RSS 2.0 / Atom feeds with their article pages, with
working conditional GET and compression, run-time mutations (new entries, failing feeds)
and request statistics, plus a catalogue of misbehaving endpoints under ``/bad/`` - every
problem a feed poller meets in the wild, at a stable URL. Without a network, it is how the
pipeline is exercised end to end.

In-process::

    async with serve(FeedServerConfig(feeds=10)) as server:
        urls = server.feed_urls()
        server.add_entry(3)
        assert server.stats()["feeds"] == 0

As a process: ``python -m sitrep.feedserver --port 8700 --feeds 200 --entries 20``.
"""

from .app import build_app
from .config import DEFAULT_BASE_TIME, FeedServerConfig
from .demo import ManifestError, load_manifest
from .misbehaviour import MISBEHAVIOURS, Misbehaviour
from .server import FeedServer, feed_urls, main, serve

__all__ = [
    "DEFAULT_BASE_TIME",
    "MISBEHAVIOURS",
    "FeedServer",
    "FeedServerConfig",
    "ManifestError",
    "Misbehaviour",
    "build_app",
    "feed_urls",
    "load_manifest",
    "main",
    "serve",
]
