"""TIFF header tags read without decoding a pixel (Pillow's IFD parser, so no `geo` extra needed):
DateTime (306) dates a GeoTIFF, GDAL's metadata XML (42112) names its bands."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import BinaryIO

from PIL import TiffImagePlugin

TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_DATETIME = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")


def read_ifd(fh: BinaryIO) -> TiffImagePlugin.ImageFileDirectory_v2:
    """The first image file directory of a TIFF or BigTIFF; ValueError when `fh` holds no TIFF. Seeks to
    the directory, so only the header and the tags are read."""
    head = fh.read(8)
    if head[:4] not in TIFF_MAGIC:
        raise ValueError(f"not a TIFF (starts with {head[:4]!r})")
    if head[2] == 43:  # BigTIFF: 8-byte offset of the first directory after the 8-byte header
        head += fh.read(8)
    ifd = TiffImagePlugin.ImageFileDirectory_v2(head)
    fh.seek(ifd.next)
    ifd.load(fh)
    return ifd


def parse_tiff_datetime(value: object) -> datetime | None:
    """`YYYY:MM:DD HH:MM:SS` (the TIFF 6.0 DateTime format), as UTC; None when absent or malformed."""
    match = _DATETIME.match(str(value or "").strip())
    if match is None:
        return None
    try:
        return datetime(*map(int, match.groups()), tzinfo=UTC)  # type: ignore[misc]
    except ValueError:  # 2020:13:45
        return None


def tiff_datetime(ifd: TiffImagePlugin.ImageFileDirectory_v2) -> tuple[datetime | None, str | None]:
    """(time of tag 306, the tag's text when present but not a valid time)."""
    raw = ifd.get(306)
    when = parse_tiff_datetime(raw)
    return when, (str(raw)[:40] if raw is not None and when is None else None)


def band_descriptions(ifd: TiffImagePlugin.ImageFileDirectory_v2) -> list[str | None]:
    """Per-band descriptions GDAL stored in tag 42112 (`<Item name="DESCRIPTION" sample="k">`), one per
    sample (None where unnamed); empty when the file carries none or the XML is malformed."""
    raw = ifd.get(42112)
    if not raw:
        return []
    try:
        root = ET.fromstring(raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw))
    except ET.ParseError:
        return []
    count = int(ifd.get(277, 1))
    names: list[str | None] = [None] * count
    for item in root.iter("Item"):
        sample = item.get("sample")
        if item.get("name") == "DESCRIPTION" and sample and sample.isdigit() and int(sample) < count:
            names[int(sample)] = (item.text or "").strip() or None
    return names if any(names) else []
