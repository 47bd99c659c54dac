"""What a connector yields, the status and drop-reason vocabularies, and stable ids (DESIGN 6, 6b)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# raw_scrape.status: `ok` or why no image bytes were obtained. Never reuse a code for another meaning.
RAW_STATUSES: dict[str, str] = {
    "ok": "image bytes fetched and stored",
    "http_error": "the server answered a non-2xx status (after retries)",
    "timeout": "no complete answer within the timeout (after retries)",
    "blocked_address": "SSRF guard: the host resolves to a loopback/private/link-local/multicast address",
    "robots_disallowed": "robots.txt (or X-Robots-Tag) forbids fetching it",
    "too_large": "the response exceeded the byte cap",
    "bad_content_type": "the response is not an image",
    "not_found": "a local/S3 path that does not exist or cannot be read",
    "prefiltered": "not downloaded: the text failed the RS keyword prefilter (pairs sources)",
    "connection_error": "DNS failure, refused/reset connection or TLS error (after retries)",
    "invalid_url": "missing, unparsable or non-http(s) URL; nothing was requested",
    "no_image": "the article was fetched but holds no content image (web sources)",
    "outside_root": "a symlink or index path resolving outside the source folder; refused, never read",
    "invalid_path": "an index path no filesystem accepts (a NUL byte); refused, never read",
    "invalid_row": "a source file line that is no row (not JSON, not an object, wrong cell count); `error`"
    " names the file and line",
    "missing_image": "a dataset's annotation names an image file its image folder does not hold; the row "
    "keeps what the annotation says, nothing is read",
    "no_annotation": "an image file of a dataset that no annotation entry names (annotation-driven labeled "
    "formats); recorded, never read",
    "removed_at_origin": "fetched by an earlier run, now 404/410 at the origin (web); the row and its "
    "stored image are kept, filtered_pool drops it",
    "item_image_cap": "the article holds more content images than max_images_per_item (web); one row per "
    "article, its error says how many were not requested",
    "request_cap": "not requested: the run reached max_requests_per_run; the next run requests it",
}

# filtered_pool.drop_reason: NULL when kept. Never reuse a code for another meaning.
DROP_REASONS: dict[str, str] = {
    "fetch_failed": "raw_scrape has no image bytes (status != ok)",
    "removed_at_origin": "the origin answers 404/410 for a record fetched earlier (raw removed_at_origin)",
    "keyword_prefilter": "the text failed the RS keyword prefilter before download",
    "decode_error": "Pillow cannot decode the bytes (truncated files included)",
    "decompression_bomb": "pixel count above the bomb guard, refused before allocation",
    "too_small": "shorter side below the source's min_side",
    "bad_aspect": "aspect ratio above the source's max_aspect",
    "blank_image": "near-constant or mostly no-data (exact zero) tile",
    "text_too_short": "text below the minimum words/characters for a source that has text",
    "not_remote_sensing": "RS relevance score below the threshold where the source applies it",
}


def stable_hash(*parts: Any, length: int = 16) -> str:
    """Hex digest of the JSON of `parts`: stable across runs, machines and Python versions."""
    payload = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:length]


def record_id(source: str, native_id: str) -> str:
    """Stable id of an acquisition record: hash of (source, source-native id or URL)."""
    return stable_hash("record", source, native_id)


def image_id(content: bytes) -> str:
    """Content address of an image: sha256 of its bytes."""
    return hashlib.sha256(content).hexdigest()


@dataclass
class RawItem:
    """One attempted item from a source: metadata plus the image bytes, or a status saying why not.

    Connectors yield these; the raw_scrape asset stores `content` content-addressed and writes the
    rest as one row. `objects` boxes are pixel coordinates `[x1, y1, x2, y2]` in the original image.
    `url` is stored as given except for its userinfo ("user:pass@", stripped): credentials belong in
    headers or the environment (errors and metadata pass through `redact_url`).
    """

    native_id: str
    year: int
    status: str = "ok"
    error: str | None = None
    url: str | None = None
    page_url: str | None = None
    title: str | None = None
    text: str | None = None
    alt_text: str | None = None
    credits: str | None = None
    captured_at: datetime | None = None
    lat: float | None = None
    lon: float | None = None
    sensor: str | None = None
    gsd_m: float | None = None
    cloud_cover: float | None = None
    labels: list[str] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    landcover: dict[str, float] = field(default_factory=dict)
    ref_captions: list[str] = field(default_factory=list)  # the dataset's own captions (RSICD...)
    ref_qa: list[dict[str, Any]] = field(default_factory=list)  # its own QA: question, answer, type
    extra: dict[str, Any] = field(default_factory=dict)
    http_status: int | None = None
    content: bytes | None = None
    fetched_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in RAW_STATUSES:
            raise ValueError(f"unknown raw status {self.status!r}")
