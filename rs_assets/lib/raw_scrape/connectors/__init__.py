"""Connectors: one module per source `kind`, each yielding RawItem for one year of one source.

A RawItem's `url` and `native_id` keep the source's URL as given (it is the record's identity) but for
its userinfo ("user:pass@"), which is never requested nor stored (only a web source's own feed, sitemap
and start URLs send theirs, to exactly those URLs); other credentials belong in request headers or the
environment. Errors and `extra` pass URLs through `redact_url` (exported for other writers, e.g.
Parquet metadata).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors.common import redact_url
from rs_assets.lib.records import RawItem

__all__ = ["fetch_items", "redact_url"]


def fetch_items(name: str, source: Any, year: int, lake: Lake) -> Iterator[RawItem]:
    """Every attempted item of `source` whose year is `year` (acquisition/publication date, else
    the source's default year). `lake` holds connector state (HTTP validators, URL index)."""
    if source.kind == "synthetic":
        from rs_assets.lib.raw_scrape.synthetic import generate

        return generate(name, source, year)
    if source.kind == "web":
        from rs_assets.lib.raw_scrape.connectors.web import fetch_web

        return fetch_web(name, source, year, lake)
    if source.kind == "pairs":
        from rs_assets.lib.raw_scrape.connectors.pairs import fetch_pairs

        return fetch_pairs(name, source, year, lake)
    if source.kind == "labeled":
        from rs_assets.lib.raw_scrape.connectors.labeled import fetch_labeled

        return fetch_labeled(name, source, year, lake)
    raise NotImplementedError(f"source {name!r}: kind {source.kind!r} has no connector yet")
