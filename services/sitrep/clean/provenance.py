"""Provenance: which extractor (and version) made the text, and where each field came from."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version


@cache
def package_version_of(package: str) -> str:
    try:
        return package_version(package)
    except PackageNotFoundError:
        return "unknown"


def extractor_name() -> str:
    return f"trafilatura {package_version_of('trafilatura')}"


