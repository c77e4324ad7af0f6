"""The command line: ``sitrep clean FILE_OR_URL... [--url URL]`` (the only I/O)."""

from __future__ import annotations

import gzip
import json
import re
import sys
from pathlib import Path
from typing import Any

from trafilatura.utils import decode_file

from sitrep.clean.options import CleanError
from sitrep.clean.stage import clean_html, clean_text

#: Limits of the ``sitrep clean URL`` fetch.
FETCH_TIMEOUT = 20.0
FETCH_MAX_BYTES = 5 * 1024 * 1024

_HTML_MARKER = re.compile(
    rb"<\s*(?:!doctype\s+html|html|head|body|p|div|article|main|title)\b", re.IGNORECASE,
)


def _is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _read_source(source: str) -> tuple[bytes, str | None, str | None]:
    """(bytes, charset, final URL) of a file or URL; raises CleanError with the reason."""
    if _is_url(source):
        return _fetch(source)
    path = Path(source)
    if not path.exists():
        raise CleanError("no such file")
    if path.is_dir():
        raise CleanError("is a directory")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CleanError(f"cannot read: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise CleanError(f"not a valid gzip file: {exc}") from exc
    return data, None, None


def _fetch(url: str) -> tuple[bytes, str | None, str | None]:
    import httpx

    try:
        with httpx.Client(follow_redirects=True, timeout=FETCH_TIMEOUT) as client, \
                client.stream("GET", url, headers={"User-Agent": "sitrep-clean/0.1"}) as response:
            if response.status_code >= 400:
                raise CleanError(f"HTTP {response.status_code}")
            chunks = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > FETCH_MAX_BYTES:
                    raise CleanError(f"larger than {FETCH_MAX_BYTES // (1024 * 1024)} MB")
                chunks.append(chunk)
            kind = (response.headers.get("content-type") or "").split(";")[0].strip().lower()
            if kind and kind not in ("text/html", "application/xhtml+xml", "text/plain"):
                raise CleanError(f"not HTML ({kind})")
            return b"".join(chunks), response.charset_encoding, str(response.url)
    except httpx.TimeoutException as exc:
        raise CleanError(f"timed out after {FETCH_TIMEOUT:.0f} s") from exc
    except httpx.HTTPError as exc:
        raise CleanError(f"fetch failed: {exc}") from exc


def _decode(data: bytes, charset: str | None) -> str:
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_file(data)


def clean_source(source: str, url: str | None = None) -> dict[str, Any]:
    """One CLI source (file path or URL) to a clean article; CleanError says what is wrong."""
    data, charset, final_url = _read_source(source)
    page_url = final_url or url
    if not data.strip():
        raise CleanError("empty file" if not _is_url(source) else "empty response")
    if b"\x00" in data[:8192]:
        raise CleanError("binary content, not HTML or text")
    name = source.lower().removesuffix(".gz")
    if name.endswith(".txt"):
        return clean_text(_decode(data, charset), page_url)
    if not _HTML_MARKER.search(data[:65536]):
        raise CleanError("not HTML (no HTML tags found; give plain text a .txt name)")
    return clean_html(_decode(data, charset), page_url)


def clean_command(sources: list[str], url: str | None) -> int:
    """``sitrep clean``: print each source's clean article as JSON; 1 if any source failed.

    One source prints an indented object; several print one object per line, each with the
    source's name in ``source``. A bad source is reported on stderr and skipped.
    """
    if url is not None and len(sources) != 1:
        print("sitrep clean: --url applies to a single source; ignored", file=sys.stderr)
        url = None
    failed = False
    for source in sources:
        try:
            article = clean_source(source, url)
        except CleanError as exc:
            print(f"sitrep clean: {source}: {exc}", file=sys.stderr)
            failed = True
            continue
        if len(sources) == 1:
            print(json.dumps(article, ensure_ascii=False, indent=2))
        else:
            print(json.dumps({"source": source, **article}, ensure_ascii=False))
    return 1 if failed else 0
