"""RSS 2.0 and Atom 1.0 rendering from :class:`~sitrep.feedserver.textgen.Entry` objects.

Rendering is split into head, one-entry and tail functions so that the 10,000-entry feed
can be streamed entry by entry instead of being built in memory. Text is escaped with
:func:`xml.sax.saxutils.escape`; the generated text deliberately contains ``&``, ``<`` and
quotes, so a mistake here shows up as a parse failure in the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from email.utils import format_datetime
from html import escape as html_escape
from xml.sax.saxutils import escape, quoteattr

from .textgen import Entry

GENERATOR = "sitrep feedserver"


@dataclass(frozen=True, slots=True)
class Channel:
    """Feed-level data for rendering (the address-dependent parts are already resolved)."""

    title: str
    home_url: str
    self_url: str
    description: str
    language: str
    updated: datetime
    tz: tzinfo
    feed_id: str
    html_summary: bool = False
    #: Atom only: an ``xml:base`` attribute for the ``<feed>`` element.
    xml_base: str | None = None
    #: Extra raw XML inserted in the channel / feed head (already escaped).
    extra_head: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One entry plus its rendering choices."""

    entry: Entry
    #: The link as it should appear in the document (absolute or deliberately relative);
    #: ``None`` omits the link element.
    link: str | None
    #: Article HTML to embed as content:encoded / atom:content, if any.
    content_html: str | None = None
    #: Atom only: an ``xml:base`` attribute for this ``<entry>``.
    xml_base: str | None = None
    #: RSS only: whether to write a pubDate (misbehaving feeds sometimes omit it) and,
    #: if set, a literal replacement for its text (e.g. an unparseable date).
    date_text: str | None = None
    omit_date: bool = False
    extra: str = field(default="")


def rss_date(moment: datetime, tz: tzinfo) -> str:
    """RFC 822 date in the site's own offset, as RSS feeds write them."""
    return format_datetime(moment.astimezone(tz))


def atom_date(moment: datetime, tz: tzinfo) -> str:
    """RFC 3339 date in the site's own offset."""
    return moment.astimezone(tz).isoformat()


def _summary_text(entry: Entry, html_summary: bool) -> str:
    if html_summary:
        # Many feeds put HTML in the description; it is then escaped once more as XML.
        return escape(f"<p>{html_escape(entry.summary, quote=False)}</p>")
    return escape(entry.summary)


def rss_head(channel: Channel) -> str:
    """The XML declaration and everything of an RSS 2.0 document before the items."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/">\n'
        "<channel>\n"
        f"<title>{escape(channel.title)}</title>\n"
        f"<link>{escape(channel.home_url)}</link>\n"
        f"<description>{escape(channel.description)}</description>\n"
        f"<language>{escape(channel.language)}</language>\n"
        f"<lastBuildDate>{rss_date(channel.updated, channel.tz)}</lastBuildDate>\n"
        f"<generator>{GENERATOR}</generator>\n"
        f'<atom:link href={quoteattr(channel.self_url)} rel="self"'
        ' type="application/rss+xml"/>\n'
        f"{channel.extra_head}"
    )


def rss_item(item: Item, channel: Channel) -> str:
    """One ``<item>``."""
    entry = item.entry
    parts = ["<item>\n", f"<title>{escape(entry.title)}</title>\n"]
    if item.link is not None:
        parts.append(f"<link>{escape(item.link)}</link>\n")
    parts.append(f"<description>{_summary_text(entry, channel.html_summary)}</description>\n")
    if item.content_html is not None:
        # CDATA cannot contain "]]>"; generated HTML never does.
        parts.append(f"<content:encoded><![CDATA[{item.content_html}]]></content:encoded>\n")
    parts.extend(f"<dc:creator>{escape(author)}</dc:creator>\n" for author in entry.authors)
    parts.extend(f"<category>{escape(category)}</category>\n" for category in entry.categories)
    parts.append(f'<guid isPermaLink="false">{escape(entry.guid)}</guid>\n')
    if not item.omit_date:
        date = (
            item.date_text if item.date_text is not None else rss_date(entry.published, channel.tz)
        )
        parts.append(f"<pubDate>{escape(date)}</pubDate>\n")
    parts.append(item.extra)
    parts.append("</item>\n")
    return "".join(parts)


def rss_tail() -> str:
    """Closes the channel and the document."""
    return "</channel>\n</rss>\n"


def atom_head(channel: Channel) -> str:
    """The XML declaration and everything of an Atom document before the entries."""
    base = f" xml:base={quoteattr(channel.xml_base)}" if channel.xml_base else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(channel.language)}'
        f"{base}>\n"
        f"<title>{escape(channel.title)}</title>\n"
        f"<subtitle>{escape(channel.description)}</subtitle>\n"
        f"<id>{escape(channel.feed_id)}</id>\n"
        f'<link rel="self" type="application/atom+xml" href={quoteattr(channel.self_url)}/>\n'
        f'<link rel="alternate" type="text/html" href={quoteattr(channel.home_url)}/>\n'
        f"<updated>{atom_date(channel.updated, channel.tz)}</updated>\n"
        "<author><name>Newsroom</name></author>\n"
        f"<generator>{GENERATOR}</generator>\n"
        f"{channel.extra_head}"
    )


def atom_entry(item: Item, channel: Channel) -> str:
    """One ``<entry>``."""
    entry = item.entry
    base = f" xml:base={quoteattr(item.xml_base)}" if item.xml_base else ""
    parts = [
        f"<entry{base}>\n",
        f"<id>{escape(entry.guid)}</id>\n",
        f'<title type="text">{escape(entry.title)}</title>\n',
    ]
    if item.link is not None:
        parts.append(f'<link rel="alternate" type="text/html" href={quoteattr(item.link)}/>\n')
    parts.append(f"<published>{atom_date(entry.published, channel.tz)}</published>\n")
    parts.append(f"<updated>{atom_date(entry.updated, channel.tz)}</updated>\n")
    parts.extend(f"<author><name>{escape(author)}</name></author>\n" for author in entry.authors)
    parts.extend(f"<category term={quoteattr(category)}/>\n" for category in entry.categories)
    summary_type = "html" if channel.html_summary else "text"
    parts.append(
        f'<summary type="{summary_type}">{_summary_text(entry, channel.html_summary)}</summary>\n'
    )
    if item.content_html is not None:
        parts.append(f'<content type="html">{escape(item.content_html)}</content>\n')
    parts.append(item.extra)
    parts.append("</entry>\n")
    return "".join(parts)


def atom_tail() -> str:
    """Closes the feed."""
    return "</feed>\n"


def render(channel: Channel, items: Iterable[Item], atom: bool) -> bytes:
    """A whole feed document as UTF-8 bytes."""
    if atom:
        body = [atom_head(channel), *(atom_entry(i, channel) for i in items), atom_tail()]
    else:
        body = [rss_head(channel), *(rss_item(i, channel) for i in items), rss_tail()]
    return "".join(body).encode("utf-8")
