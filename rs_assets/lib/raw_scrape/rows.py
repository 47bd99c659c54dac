"""RawItem -> raw_scrape row: content addressing and header-only image probing."""

from __future__ import annotations

import io
import json
import warnings
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from rs_assets.lib.records import RawItem, image_id, record_id

_EXT_BY_FORMAT = {"JPEG": "jpg", "PNG": "png", "TIFF": "tif", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


def probe(content: bytes) -> tuple[str, int | None, int | None]:
    """(extension, width, height) from the image header alone; ('bin', None, None) if unrecognised.

    Only the header is parsed: no pixels are decoded here, the pool stage does that once.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(content)) as img:
                return _EXT_BY_FORMAT.get(img.format or "", "bin"), img.width, img.height
    except Exception:
        return "bin", None, None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_row(source: str, item: RawItem) -> tuple[dict[str, Any], bytes | None]:
    """One raw_scrape row for `item` and the bytes to store (None when nothing was fetched)."""
    content = item.content if item.status == "ok" else None
    row: dict[str, Any] = {
        "record_id": record_id(source, item.native_id),
        "source": source,
        "year": item.year,
        "native_id": item.native_id,
        "url": item.url,
        "page_url": item.page_url,
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
        "objects": [
            {"cls": o["cls"], "x1": o["bbox"][0], "y1": o["bbox"][1], "x2": o["bbox"][2], "y2": o["bbox"][3]}
            for o in item.objects
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
