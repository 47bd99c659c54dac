"""`kind: pairs`: RS5M PUB11-style filtering of public image-text pairs (LAION, COYO, CC12M, YFCC...).

Rows come from Parquet/CSV/JSONL files (local or s3://, globs). The RS keyword prefilter runs on the
text before any download and is recorded (`prefiltered`), never a silent skip: RS5M's keyword stage
kept a few percent of PUB11, so the decision log is most of the partition and explains its size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from rs_assets.lib.filtered_pool.lexicon import lexicon_pattern, rs_text_score
from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors.common import canonical_url, item_year, parse_datetime, row_latlon
from rs_assets.lib.raw_scrape.connectors.files import BadRow, bad_row_item, read_rows
from rs_assets.lib.raw_scrape.connectors.http import Fetcher
from rs_assets.lib.raw_scrape.connectors.state import HttpState, completed
from rs_assets.lib.records import RawItem, stable_hash
from rs_assets.lib.sources import PairsSource

Matcher = Callable[[str], bool]


def keyword_matcher(source: PairsSource) -> Matcher | None:
    """The prefilter's test of a text, None when the source turns it off. Without `keywords` it is the
    pool's own lexicon relevance: a text is prefiltered exactly when `filtered_pool` would score it 0
    (and drop it as not_remote_sensing after paying for the download). A source's own `keywords` are
    matched by the same `lexicon_pattern` (plurals, optional separators, case rules)."""
    if not source.keyword_prefilter:
        return None
    if not source.keywords:
        return lambda text: rs_text_score(text) > 0
    pattern = lexicon_pattern(source.keywords)
    return lambda text: pattern.search(text) is not None


def pair_item(
    source: PairsSource, row: dict[str, Any], year: int, keywords: Matcher | None
) -> RawItem | None:
    """The record of one row for partition `year` (None when it belongs to another year)."""
    when = parse_datetime(row.get(source.date_column)) if source.date_column else None
    if item_year(when, source.default_year) != year:
        return None
    url, text = row.get(source.url_column), row.get(source.text_column)
    url = url.strip() if isinstance(url, str) and url.strip() else None
    text = str(text) if text is not None else None
    native = row.get(source.id_column) if source.id_column else None
    native_id = str(native) if native not in (None, "") else canonical_url(url) if url else stable_hash(row)
    used = {source.url_column, source.text_column, source.id_column, source.date_column}
    latlon = row_latlon(row)
    item = RawItem(
        native_id=native_id,
        year=year,
        url=url,
        text=text,
        captured_at=when,
        lat=latlon[0] if latlon else None,
        lon=latlon[1] if latlon else None,
        extra={k: v for k, v in row.items() if k not in used and v is not None},
    )
    if keywords is not None and not keywords(text or ""):
        item.status, item.error = "prefiltered", "no RS keyword in the text"
    elif url is None:
        item.status, item.error = "invalid_url", f"empty {source.url_column!r}"
    return item


def pair_items(source: PairsSource, year: int) -> Iterator[RawItem]:
    """Every row's record of `year` before any download (prefilter decided); duplicates once."""
    keywords = keyword_matcher(source)
    seen: set[str] = set()
    for row in read_rows(source.path):
        item = (
            bad_row_item(row, year, source.default_year)
            if isinstance(row, BadRow)
            else pair_item(source, row, year, keywords)
        )
        if item is not None and item.native_id not in seen:
            seen.add(item.native_id)
            yield item


def fetch_pairs(name: str, source: PairsSource, year: int, lake: Lake) -> Iterator[RawItem]:
    """Every row of `year`: prefilter decisions at once, downloads concurrently."""
    with Fetcher(source) as fetcher, HttpState(lake, name, year) as state:
        yield from fetcher.map(lambda i: completed(fetcher, state, i), pair_items(source, year))
