"""RawItem -> raw_scrape row (content addressing, header-only image probing) and the rows of a
partition re-materialised over an earlier one."""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from rs_assets.lib.geo.tiff_tags import read_ifd
from rs_assets.lib.raw_scrape.connectors.common import strip_userinfo
from rs_assets.lib.raw_scrape.connectors.http import RETRY_HTTP
from rs_assets.lib.records import RawItem, image_id, record_id

Row = dict[str, Any]
# Kinds whose listing is a moving window over the site (a feed shows the latest articles): a run
# sees only part of what earlier runs fetched, so the partition keeps what it does not see again.
ACCUMULATING_KINDS = frozenset({"web"})
GONE_HTTP = frozenset({404, 410})
TRANSIENT_STATUSES = frozenset({"timeout", "connection_error", "request_cap"})

_EXT_BY_FORMAT = {
    "JPEG": "jpg",
    "PNG": "png",
    "TIFF": "tif",
    "WEBP": "webp",
    "GIF": "gif",
    "BMP": "bmp",
    "JPEG2000": "jp2",
}


def probe(content: bytes) -> tuple[str, int | None, int | None]:
    """(extension, width, height) from the image header alone; ('bin', None, None) if unrecognised.

    Only the header is parsed: no pixels are decoded here, the pool stage does that once. A TIFF
    Pillow has no mode for (16-bit multiband GeoTIFFs) is measured from its tags.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(content)) as img:
                return _EXT_BY_FORMAT.get(img.format or "", "bin"), img.width, img.height
    except Exception:
        pass
    try:
        ifd = read_ifd(io.BytesIO(content))
        return "tif", int(ifd[256]), int(ifd[257])
    except Exception:
        return "bin", None, None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def object_row(obj: dict[str, Any]) -> dict[str, Any]:
    """A RawItem object (cls, bbox [x1, y1, x2, y2], optional poly and description) as a table struct."""
    x1, y1, x2, y2 = obj["bbox"]
    poly = obj.get("poly")
    return {
        "cls": obj["cls"],
        "x1": x1,
        "y1": y1,
        "x2": x2,
        "y2": y2,
        "poly": [float(v) for v in poly] if poly else None,
        "description": obj.get("description"),
    }


def to_row(source: str, item: RawItem) -> tuple[dict[str, Any], bytes | None]:
    """One raw_scrape row for `item` and the bytes to store (None when nothing was fetched)."""
    content = item.content if item.status == "ok" else None
    row: dict[str, Any] = {
        "record_id": record_id(source, item.native_id),
        "source": source,
        "year": item.year,
        "native_id": item.native_id,
        "url": strip_userinfo(item.url) if item.url else None,
        "page_url": strip_userinfo(item.page_url) if item.page_url else None,
        "title": item.title,
        "text": item.text,
        "alt_text": item.alt_text,
        "credits": item.credits,
        "captured_at": _utc(item.captured_at),
        "lat": item.lat,
        "lon": item.lon,
        "sensor": item.sensor,
        "gsd_m": item.gsd_m,
        "cloud_cover": item.cloud_cover,
        "labels": list(item.labels),
        "objects": [object_row(o) for o in item.objects],
        "ref_captions": list(item.ref_captions),
        "ref_qa": [
            {"question": q.get("question"), "answer": q.get("answer"), "type": q.get("type")}
            for q in item.ref_qa
        ],
        "landcover": [{"cls": k, "share": float(v)} for k, v in sorted(item.landcover.items())],
        "extra": json.dumps(item.extra, sort_keys=True, default=str) if item.extra else None,
        "image_id": None,
        "image_ext": None,
        "byte_size": None,
        "width": None,
        "height": None,
        "status": item.status,
        "error": item.error,
        "http_status": item.http_status,
        "fetched_at": _utc(item.fetched_at) or datetime.now(UTC),
    }
    if content is None:
        return row, None
    ext, width, height = probe(content)
    row.update(image_id=image_id(content), image_ext=ext, byte_size=len(content), width=width, height=height)
    return row, content


def _superseding_status(answer: Row) -> str | None:
    """The status an earlier, fetched record takes from this run's failed `answer` about it (its own
    row or its page's): the origin removed it (404/410) or now refuses it (robots, noai)."""
    if answer["status"] == "http_error" and answer["http_status"] in GONE_HTTP:
        return "removed_at_origin"
    return "robots_disallowed" if answer["status"] == "robots_disallowed" else None


def _transient(answer: Row) -> bool:
    """A failure the next run may not see (the fetcher's retryable answers, or not requested)."""
    return answer["status"] in TRANSIENT_STATUSES or (
        answer["status"] == "http_error" and answer["http_status"] in RETRY_HTTP
    )


def _revised(old: Row, answer: Row) -> Row | None:
    """Earlier row `old` as this run's failed `answer` leaves it; None when the answer replaces it.
    Only a row holding a stored image has something to keep."""
    if old["image_id"] is None:
        return None
    status = _superseding_status(answer)
    if status is not None:
        outcome = {k: answer[k] for k in ("error", "http_status", "fetched_at")}
        return {**old, **outcome, "status": status}
    return old if _transient(answer) else None


def merge_rows(previous: list[Row], current: list[Row]) -> list[Row]:
    """Rows of a partition whose source lists only part of its records each run: every record ever
    fetched, by record_id, this run's rows first.

    - A record this run did not produce (its article left the listing, its image left the article)
      keeps its earlier row unchanged, pointing at its stored image.
    - A produced record replaces its earlier row, except when it failed and the earlier row holds an
      image: 404/410 keeps the earlier row as `removed_at_origin`, robots/noai as `robots_disallowed`
      (both with this run's error, HTTP status and time), a transient failure keeps it unchanged.
    - An article page that failed (its row's native_id is the page URL) answers in the same way for
      its earlier records this run did not produce; the page row itself is left out when they carry
      the answer (gone, refused, transient), so a removed article is not counted twice.
    """
    earlier = {r["record_id"]: r for r in previous}
    produced = {r["record_id"] for r in current}
    left = [r for r in previous if r["record_id"] not in produced]
    pages = {r["page_url"]: r for r in current if r["native_id"] == r["page_url"]}
    held_pages = {r["page_url"] for r in left if r["image_id"] is not None}
    rows = []
    for row in current:
        old = earlier.get(row["record_id"])
        if old is not None and row["status"] != "ok":
            rows.append(_revised(old, row) or row)
        elif not (
            old is None
            and row["native_id"] == row["page_url"]
            and row["page_url"] in held_pages
            and (_superseding_status(row) or _transient(row))
        ):
            rows.append(row)
    for old in left:
        page = pages.get(old["page_url"])
        rows.append((_revised(old, page) if page is not None else None) or old)
    return rows
