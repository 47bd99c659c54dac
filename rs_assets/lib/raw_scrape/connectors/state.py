"""Incremental HTTP state in the lake: URL -> validators + image_id (or a parsed page).

A re-run of a partition sends conditional GETs (ETag / Last-Modified) and re-reads unchanged images
from the content-addressed store; URLs stored without validators are trusted as immutable and not
requested at all. One gzip JSON per (source, year): partitions never write each other's state, and a
crash loses at most `SAVE_EVERY_S` of entries (their images are simply fetched again). Saving on a
clock, not every N entries, keeps a million-URL partition from rewriting its index thousands of times.
A file that cannot be read (truncated, corrupt) is a miss for every URL, logged and rewritten. Keys
are URLs without userinfo: no credentials in the state.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from rs_assets.lib.lake import Lake, image_key
from rs_assets.lib.raw_scrape.connectors.common import redact_url, strip_userinfo
from rs_assets.lib.raw_scrape.connectors.http import Accept, Fetched, Fetcher
from rs_assets.lib.raw_scrape.rows import probe
from rs_assets.lib.records import RawItem, image_id

SAVE_EVERY_S = 60.0
log = logging.getLogger(__name__)


def _load(lake: Lake, key: str) -> dict[str, dict[str, Any]] | None:
    """The entries stored at `key` ({} when there is none), or None when the file is unreadable."""
    if not lake.has(key):
        return {}
    try:
        entries = json.loads(gzip.decompress(lake.read_bytes(key)))
        if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
            raise ValueError("not a mapping of URL -> entry")
    except (OSError, EOFError, ValueError, zlib.error) as exc:  # truncated gzip, bad JSON or UTF-8
        log.warning(
            "HTTP state %s is unreadable (%s): every URL is requested as new, the file rewritten",
            lake.uri(key),
            exc,
        )
        return None
    return entries


class HttpState:
    """Thread-safe URL index of one partition; use as a context manager (saves on exit)."""

    def __init__(self, lake: Lake, source: str, year: int) -> None:
        self.lake = lake
        self.key = f"state/http/{source}/{year}.json.gz"
        entries = _load(lake, self.key)
        self.entries: dict[str, dict[str, Any]] = entries or {}
        self._lock = threading.Lock()
        self._unsaved = 0 if entries is not None else 1  # an unreadable file is rewritten on save
        self._saved_at = time.monotonic()

    def __enter__(self) -> HttpState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.save()

    def get(self, url: str) -> dict[str, Any] | None:
        with self._lock:
            return self.entries.get(strip_userinfo(url))

    def put(self, url: str, result: Fetched, **values: Any) -> None:
        entry = {"etag": result.etag, "last_modified": result.last_modified, **values}
        with self._lock:
            self.entries[strip_userinfo(url)] = entry
            self._unsaved += 1
            due = time.monotonic() - self._saved_at >= SAVE_EVERY_S
        if due:
            self.save()

    def merge(self, entries: dict[str, dict[str, Any]]) -> None:
        """Add what other fetchers of the partition learned (the `ray` executor's shards)."""
        with self._lock:
            self.entries.update(entries)
            self._unsaved += len(entries)

    def save(self) -> None:
        with self._lock:
            if not self._unsaved:
                return
            data = gzip.compress(json.dumps(self.entries, sort_keys=True).encode("utf-8"))
            self._unsaved, self._saved_at = 0, time.monotonic()
        self.lake.write_bytes(self.key, data)


def _revalidate(fetcher: Fetcher, entry: dict[str, Any] | None, url: str, accept: Accept) -> Fetched | None:
    """None when the stored entry is trusted without a request, else the (conditional) GET."""
    if entry is not None and not (entry.get("etag") or entry.get("last_modified")):
        return None
    return fetcher.get(url, accept, validators=entry)


def fetch_image(fetcher: Fetcher, state: HttpState, url: str) -> Fetched:
    """GET an image unless the index proves it unchanged; `content` is set either way on success."""
    entry = state.get(url)
    key = image_key(entry["image_id"], entry["ext"]) if entry else None
    if key is not None and not state.lake.has(key):  # the asset never stored it (crash): fetch anew
        entry = key = None
    result = _revalidate(fetcher, entry, url, "image") or Fetched(url, "ok", not_modified=True)
    if result.not_modified and key is not None:
        result.content = state.lake.read_bytes(key)
    elif result.status == "ok" and result.content is not None:
        state.put(url, result, image_id=image_id(result.content), ext=probe(result.content)[0])
    return result


def fetch_page(
    fetcher: Fetcher, state: HttpState, url: str, parse: Callable[[Fetched], dict[str, Any]]
) -> tuple[Fetched, dict[str, Any] | None]:
    """GET and `parse(result) -> dict` a page unless the index holds its parse and it is unchanged."""
    entry = state.get(url)
    result = _revalidate(fetcher, entry, url, "page") or Fetched(url, "ok", not_modified=True)
    if result.not_modified and entry is not None:
        return result, entry["parsed"]
    if result.status != "ok" or result.content is None:
        return result, None
    parsed = parse(result)
    state.put(url, result, parsed=parsed)
    return result, parsed


def attach_image(fetcher: Fetcher, state: HttpState, item: RawItem) -> RawItem:
    """`item` (metadata of an image record) completed with its download outcome and bytes."""
    result = fetch_image(fetcher, state, item.url or "")
    moved = result.url != strip_userinfo(item.url or "")
    extra = {**item.extra, "final_url": redact_url(result.url)} if moved else item.extra
    return dataclasses.replace(
        item,
        status=result.status,
        error=result.error,
        http_status=result.http_status,
        content=result.content,
        fetched_at=result.fetched_at,
        extra=extra,
    )


def needs_fetch(item: RawItem) -> bool:
    """Whether a discovered record still waits for its image (every other record is final)."""
    return item.status == "ok" and item.url is not None


def completed(fetcher: Fetcher, state: HttpState, item: RawItem) -> RawItem:
    """`item` with its image attached when it waits for one, else unchanged."""
    return attach_image(fetcher, state, item) if needs_fetch(item) else item
