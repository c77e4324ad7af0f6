"""Shared pytest configuration.

Integration tests (``tests/integration``) run against the real local stack that
``sitrep stack up`` starts; their fixtures live in ``tests/integration/conftest.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO
