"""`kind: web`: GAIA-style article scraping. One record per (article, content image).

Flow: discover articles (feed/sitemap/listing) -> drop those the listing dates to another year (no
request) -> fetch and parse pages -> one record per image (at most `max_images_per_item`), downloaded
concurrently. Pages that fail, are refused, hold no image or more images than the cap are records too
(status says why), so nothing disappears silently.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors.article import parse_article
from rs_assets.lib.raw_scrape.connectors.common import canonical_url, item_year, parse_datetime, redact_url
from rs_assets.lib.raw_scrape.connectors.discover import Entry, discover
from rs_assets.lib.raw_scrape.connectors.http import Fetched, Fetcher
from rs_assets.lib.raw_scrape.connectors.state import HttpState, attach_image, fetch_page, needs_fetch
from rs_assets.lib.records import RawItem
from rs_assets.lib.sources import WebSource

log = logging.getLogger(__name__)


def _parse(result: Fetched) -> dict[str, Any]:
    """A page that breaks the parser is a page without content images, not a failed run."""
    try:
        return parse_article(result.content or b"", result.url, result.charset)
    except Exception:  # hostile HTML can trip lxml/trafilatura in ways no list of exceptions covers
        log.warning("web: cannot parse %s", redact_url(result.url), exc_info=True)
        return parse_article(b"", result.url)


def page_items(
    source: WebSource, year: int, entry: Entry, result: Fetched, article: dict[str, Any] | None
) -> list[RawItem]:
    """Records of one article for partition `year`: one per image, or one saying why there is none."""
    published = entry.published or (parse_datetime(article["published"]) if article else None)
    if item_year(published, source.default_year) != year:
        return []
    page_url = article["url"] if article else canonical_url(entry.url)
    common: dict[str, Any] = {
        "year": year,
        "page_url": page_url,
        "captured_at": published,
        "title": entry.title or (article or {}).get("title"),
        "text": (article or {}).get("text") or entry.summary,
    }
    if article is None:
        page = {"status": result.status, "error": result.error, "http_status": result.http_status}
        return [RawItem(native_id=page_url, fetched_at=result.fetched_at, **page, **common)]
    common.update(lat=article["lat"], lon=article["lon"])
    place = {"place": article["place"]} if article["place"] else {}
    if article["noai"] and source.respect_noai:
        error = f"meta robots: {article['noai']}"
        return [RawItem(native_id=page_url, status="robots_disallowed", error=error, extra=place, **common)]
    known = {i["url"] for i in article["images"]}
    feed_only = [
        {"url": u, "alt": None, "caption": None, "credits": None} for u in entry.images if u not in known
    ]
    images = article["images"] + feed_only
    if not images:
        error = "no content image on the page"
        return [RawItem(native_id=page_url, status="no_image", error=error, extra=place, **common)]
    cap = source.max_images_per_item
    records = [
        RawItem(
            native_id=f"{page_url}#image={canonical_url(img['url'])}",
            url=img["url"],
            alt_text=img["alt"],
            credits=img["credits"],
            extra=place | ({"caption": img["caption"]} if img["caption"] else {}),
            **common,
        )
        for img in images[:cap]
    ]
    if len(images) > cap:  # one row says what was left: a page of 160k <img> costs `cap` requests
        over = len(images) - cap
        records.append(
            RawItem(
                native_id=f"{page_url}#images-over-cap",
                status="item_image_cap",
                error=f"{over} more content images than max_images_per_item {cap}: not requested",
                extra=place | {"images_over_cap": over},
                **common,
            )
        )
    return records


def web_records(source: WebSource, year: int, fetcher: Fetcher, state: HttpState) -> Iterator[RawItem]:
    """Every record dated `year` after discovery and page fetches, images not yet requested; an
    article listed twice is one record set."""
    entries = [e for e in discover(source, fetcher) if e.published is None or e.published.year == year]
    pages = fetcher.map(lambda e: (e, *fetch_page(fetcher, state, e.url, _parse)), entries)
    seen: set[str] = set()
    for entry, result, article in pages:
        for item in page_items(source, year, entry, result, article):
            if item.native_id not in seen:
                seen.add(item.native_id)
                yield item


def fetch_web(name: str, source: WebSource, year: int, lake: Lake) -> Iterator[RawItem]:
    """Every record of `source` dated `year`: page records as they come, then images concurrently."""
    with Fetcher(source) as fetcher, HttpState(lake, name, year) as state:
        images: list[RawItem] = []
        for item in web_records(source, year, fetcher, state):
            if needs_fetch(item):
                images.append(item)
            else:
                yield item
        yield from fetcher.map(lambda item: attach_image(fetcher, state, item), images)
