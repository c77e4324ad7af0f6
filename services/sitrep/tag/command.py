"""``sitrep tag FILE...``: the tags of text and HTML files as JSON on stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

from sitrep.tag.tagger import Tagger, get_tagger


class _TextOfHTML(HTMLParser):
    """Visible text and title of a page, for when trafilatura is not installed."""

    _SKIP: Final = frozenset({"script", "style", "noscript", "template", "svg", "head"})
    _BLOCK: Final = frozenset(
        {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "section",
         "article", "header", "footer", "blockquote", "figcaption", "title"}
    )  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = True
        elif tag in self._SKIP:
            self._skip += 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag in self._SKIP and self._skip:
            self._skip -= 1
        if tag in self._BLOCK:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        paragraphs = (" ".join(p.split()) for p in "".join(self.parts).split("\n\n"))
        return "\n\n".join(p for p in paragraphs if p)


def _html_title_and_text(html: str) -> tuple[str | None, str]:
    try:
        import trafilatura
    except ImportError:  # pragma: no cover - depends on the environment
        parser = _TextOfHTML()
        parser.feed(html)
        parser.close()
        return (" ".join(parser.title.split()) or None), parser.text()
    doc = trafilatura.bare_extraction(html, with_metadata=True)
    if doc is None or isinstance(doc, dict):
        return None, ""
    return (doc.title or None), (doc.text or "")


@dataclass(frozen=True, slots=True)
class _Source:
    """What ``sitrep tag`` tags of one file, and where its offsets point.

    For a .txt file the tags' offsets are moved back to the file's own text (its bytes
    decoded as UTF-8, nothing stripped or translated: the title line, the line breaks and a
    byte-order mark all count), so ``text[start:end]`` of the file is each mention. For a page
    they index ``shown``: the cleaned title and text as tagged, which the output then carries.
    """

    title: str | None
    text: str
    position: Callable[[int], int] | None = None  # tagged offset -> file offset (.txt)
    shown: str | None = None  # the tagged text, printed for a page

    def tags(self, tagger: Tagger) -> dict[str, Any]:
        tags = tagger.tag_text(self.text, title=self.title)
        if self.position is not None:
            tags = tags.moved(self.position)
        out: dict[str, Any] = {"title": self.title}
        if self.shown is not None:
            out["text"] = self.shown
        return {**out, **tags.to_dict()}


def _text_file(content: str, base: int = 0) -> _Source:
    """A .txt file: the first line is the title, the rest the text (as the tagger joins
    them: ``title + "\n\n" + text``, offsets mapped back to
    ``content``, which starts at ``base`` in the file's text)."""
    first, newline, rest = content.partition("\n")
    title = first.strip() or None
    text = rest.strip("\n")
    title_at = base + len(first) - len(first.lstrip())
    text_at = base + len(first) + len(newline) + len(rest) - len(rest.lstrip("\n"))
    if title is None:
        return _Source(None, text, lambda o: text_at + o)
    text_from = len(title) + 2  # after "\n\n"

    def position(o: int) -> int:
        return title_at + o if o <= len(title) else text_at + o - text_from

    return _Source(title, text, position)


def _read_source(path: str) -> _Source:
    """Title and text of a file: .txt (first line the title) or .html/.htm, optionally .gz."""
    p = Path(path)
    raw = p.read_bytes()
    name = p.name.lower()
    if name.endswith(".gz"):
        import gzip

        raw = gzip.decompress(raw)
        name = name[:-3]
    if b"\x00" in raw:
        raise ValueError("binary file, not text or HTML")
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    if name.endswith((".html", ".htm")):
        title, text = _html_title_and_text(content.removeprefix("\ufeff"))
        return _Source(title, text, shown=f"{title}\n\n{text}" if title else text)
    bom = 1 if content.startswith("\ufeff") else 0  # a byte-order mark: no part of the title
    return _text_file(content[bom:], bom)


def tag_command(paths: list[str]) -> int:
    """``sitrep tag FILE...``: the tags of each file as JSON on stdout.

    One file prints one indented object; several print one object a line, each with the file
    in ``source``. A file that cannot be read is reported on stderr by name and the others
    are still tagged; the return code is 1 if any failed. Offsets index the file's own text
    (.txt) or the ``text`` printed with the tags (a page): see :class:`_Source`.
    """
    failed = False
    tagger: Tagger | None = None
    several = len(paths) > 1
    for path in paths:
        try:
            source = _read_source(path)
        except (OSError, ValueError, EOFError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            print(f"sitrep tag: {path}: {reason}", file=sys.stderr)
            failed = True
            continue
        if tagger is None:
            tagger = get_tagger()
        result = source.tags(tagger)
        if several:
            print(json.dumps({"source": path, **result}, ensure_ascii=False), flush=True)
        else:
            print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    return 1 if failed else 0
