"""``python -m sitrep.feedserver``: run the feed fixture server until interrupted."""

from .server import main

raise SystemExit(main())
