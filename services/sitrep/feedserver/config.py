"""Configuration of the feed fixture server.

Everything the server generates is a pure function of this configuration plus the
mutations made at run time through the admin API, so two servers started with the same
configuration answer byte-identical feeds and articles. That is what lets a test or a
benchmark state exact expectations ("feed 7 has 20 entries, the newest is ...") and lets
a separate-process benchmark server agree with an in-process reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

#: A fixed, timezone-aware instant, so that generated dates do not depend on the wall
#: clock. Pollers see feeds "published up to" this moment.
DEFAULT_BASE_TIME = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeedServerConfig:
    """What to simulate, and where to listen.

    ``feeds`` generated feeds are served at ``/feeds/0.xml`` .. ``/feeds/{feeds-1}.xml``,
    each with ``entries`` entries; ``atom_share`` (0..1) of them are Atom 1.0, the rest
    RSS 2.0, chosen per feed from ``seed``. ``base_time`` is the publication time of the
    newest generated entry (entries added at run time are newer). ``demo_manifest``
    optionally points at a YAML manifest of real pages to serve under ``/sites/``.
    ``host``/``port`` are only used by :func:`sitrep.feedserver.serve` and the CLI; port 0
    asks the OS for a free port.
    """

    feeds: int = 100
    entries: int = 20
    seed: int = 0
    atom_share: float = 0.3
    base_time: datetime = DEFAULT_BASE_TIME
    demo_manifest: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    #: Cache of rendered bodies (feeds and articles, with their compressed variants).
    #: Bounded so that 10,000 feeds do not keep 10,000 bodies alive.
    body_cache_size: int = 1024
    fingerprint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.feeds < 0:
            raise ValueError(f"feeds must be >= 0, got {self.feeds}")
        if self.entries < 0:
            raise ValueError(f"entries must be >= 0, got {self.entries}")
        if not 0.0 <= self.atom_share <= 1.0:
            raise ValueError(f"atom_share must be within [0, 1], got {self.atom_share}")
        if self.base_time.tzinfo is None:
            raise ValueError("base_time must be timezone-aware")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be within [0, 65535], got {self.port}")
        # Everything that changes generated content goes into validators (ETags), so a
        # poller's cached ETag never matches a server that would now answer differently.
        raw = f"{self.entries}|{self.seed}|{self.atom_share!r}|{self.base_time.isoformat()}"
        digest = hashlib.blake2b(raw.encode(), digest_size=6).hexdigest()
        object.__setattr__(self, "fingerprint", digest)
