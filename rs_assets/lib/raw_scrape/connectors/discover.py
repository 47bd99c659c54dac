"""Article discovery for `web` sources: RSS/Atom feeds, XML sitemaps, paginated listing pages.

Parsers are pure (bytes in, entries out); `discover` drives them through the safe fetcher. A listing
that cannot be fetched raises, and so does a discovery that finds no article at all (an HTML page
answering 200 at a feed URL, a moved listing) unless the source sets `allow_empty`: an empty partition
that looks successful would hide a broken source. Links lose their userinfo ("user:pass@") here.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import SplitResult, urlsplit

import feedparser
import lxml.etree
import lxml.html
from lxml.etree import ParserError

from rs_assets.lib.raw_scrape.connectors.article import decode_html
from rs_assets.lib.raw_scrape.connectors.common import (
    canonical_url,
    join_url,
    parse_datetime,
    redact_url,
    strip_userinfo,
)
from rs_assets.lib.raw_scrape.connectors.http import Fetcher
from rs_assets.lib.sources import WebSource

_XML = lxml.etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
SITEMAP_MAX_BYTES = 50_000_000
_NEXT = "//*[self::a or self::link][contains(concat(' ', normalize-space(@rel), ' '), ' next ')]/@href"


class DiscoveryError(RuntimeError):
    """A feed, sitemap or listing page of the source could not be fetched, or listed no article."""


@dataclass(frozen=True)
class Entry:
    """An article link with what the listing already says about it."""

    url: str
    title: str | None = None
    published: datetime | None = None
    summary: str | None = None
    images: tuple[str, ...] = ()


def _link(base_url: str, href: str) -> str:
    """An absolute link without credentials: a listing must not make us send (or store) any."""
    return strip_userinfo(join_url(base_url, href))


def _text(html: str | None) -> str | None:
    """Plain text of a feed summary (HTML or not)."""
    try:
        text = lxml.html.fromstring(html).text_content() if html and "<" in html else html
    except ParserError:
        text = None
    return " ".join((text or "").split()) or None


def parse_feed(body: bytes, base_url: str) -> list[Entry]:
    """RSS 2.0 / Atom entries. A stream, never bytes: feedparser opens a *path* given as bytes."""
    feed = feedparser.parse(io.BytesIO(body), response_headers={"content-location": base_url})
    entries = []
    for e in feed.entries:
        if not e.get("link"):
            continue
        stamp = e.get("published_parsed") or e.get("updated_parsed")
        media = [*e.get("media_content", []), *e.get("media_thumbnail", []), *e.get("enclosures", [])]
        images = tuple(
            _link(base_url, m["url"] if "url" in m else m["href"])
            for m in media
            if ("url" in m or "href" in m)
            and (m.get("medium") == "image" or str(m.get("type", "image/")).startswith("image/"))
        )
        entries.append(
            Entry(
                _link(base_url, e["link"]),
                e.get("title"),
                datetime(*stamp[:6], tzinfo=UTC) if stamp else None,
                _text(e.get("summary")),
                images,
            )
        )
    return entries


def gunzip_sitemap(body: bytes, url: str) -> bytes:
    """A `.xml.gz` sitemap decompressed, at most the protocol's 50 MB (a gzip bomb stops there). Beyond
    the cap, truncated or corrupt is a DiscoveryError: the recovering XML parser would read whatever
    came out, and the partition would silently hold part of the site."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    where = f"sitemap {redact_url(url)}"
    try:
        xml = inflate.decompress(body, SITEMAP_MAX_BYTES + 1)
    except zlib.error as exc:
        raise DiscoveryError(f"{where}: not gzip ({exc})") from exc
    if len(xml) > SITEMAP_MAX_BYTES:
        raise DiscoveryError(
            f"{where}: decompresses to more than {SITEMAP_MAX_BYTES} bytes, the sitemap limit"
        )
    if not inflate.eof:
        raise DiscoveryError(f"{where}: truncated gzip ({len(body)} bytes end mid-stream)")
    return xml


def _split(url: str) -> SplitResult | None:
    """None for a URL that does not parse: discovery keeps it, so it is an `invalid_url` row."""
    try:
        return urlsplit(url)
    except ValueError:
        return None


def parse_sitemap(body: bytes, base_url: str) -> tuple[list[Entry], list[str]]:
    """(article entries, child sitemaps). Only a news:publication_date dates an entry: `lastmod` is
    the last edit, and filtering years by it would lose every corrected article."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip_sitemap(body, base_url)
    root = lxml.etree.fromstring(body, parser=_XML)
    if root is None:
        return [], []
    entries = [
        Entry(
            _link(base_url, (url.xpath("string(*[local-name()='loc'])") or "").strip()),
            published=parse_datetime(url.xpath("string(.//*[local-name()='publication_date'])") or None),
        )
        for url in root.xpath("//*[local-name()='url']")
    ]
    children = [
        _link(base_url, s.strip())
        for s in root.xpath("//*[local-name()='sitemap']/*[local-name()='loc']/text()")
    ]
    return [e for e in entries if (parts := _split(e.url)) is None or parts.path], children


def parse_listing(body: bytes, base_url: str, pattern: str | None) -> tuple[list[Entry], str | None]:
    """(article links matching `pattern`, rel=next page) of an HTML listing page."""
    doc = lxml.html.document_fromstring(decode_html(body).strip() or "<html></html>")
    regex = re.compile(pattern) if pattern else None
    links = [_link(base_url, h) for h in doc.xpath("//a/@href")]
    entries = [
        Entry(u)
        for u in links
        if ((parts := _split(u)) is None or parts.scheme in ("http", "https"))
        and (not regex or regex.search(u))
    ]
    nxt = doc.xpath(_NEXT)
    return entries, _link(base_url, nxt[0]) if nxt else None


def _fetch(fetcher: Fetcher, url: str) -> bytes:
    result = fetcher.get(url, accept="page")
    if result.status != "ok" or result.content is None:
        raise DiscoveryError(f"listing {redact_url(url)}: {result.status}: {result.error}")
    return result.content


def _walk(source: WebSource, fetcher: Fetcher) -> Iterator[Entry]:
    """Entries of the configured URLs, requested without their userinfo (the fetcher sends it to
    exactly these URLs) so that no link resolved against them inherits it."""
    if source.feed_url:
        feed = strip_userinfo(source.feed_url)
        yield from parse_feed(_fetch(fetcher, feed), feed)
    pages = 0
    queue = [strip_userinfo(source.sitemap_url)] if source.sitemap_url else []
    while queue and pages < source.max_pages:
        url, pages = queue.pop(0), pages + 1
        entries, children = parse_sitemap(_fetch(fetcher, url), url)
        yield from entries
        queue += children
    queue = [strip_userinfo(u) for u in source.start_urls]
    seen = set(queue)
    while queue and pages < source.max_pages:
        url, pages = queue.pop(0), pages + 1
        entries, nxt = parse_listing(_fetch(fetcher, url), url, source.link_pattern)
        yield from entries
        if nxt and nxt not in seen:
            seen.add(nxt)
            queue.append(nxt)


def discover(source: WebSource, fetcher: Fetcher) -> list[Entry]:
    """Up to `max_items` distinct articles (by canonical URL; the first listing of each wins); none
    raises DiscoveryError unless the source has `allow_empty`."""
    found: dict[str, Entry] = {}
    for entry in _walk(source, fetcher):
        found.setdefault(canonical_url(entry.url), entry)
        if len(found) >= source.max_items:
            break
    if not found and not source.allow_empty:
        urls = ", ".join(redact_url(u) for u in source.listing_urls)
        raise DiscoveryError(
            f"no article found at {urls}: a listing that lists nothing is taken for a broken one (an HTML "
            "page answering 200, a moved URL); set allow_empty: true if the source may list nothing"
        )
    return list(found.values())
