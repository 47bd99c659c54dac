"""GeoTIFF / JPEG 2000 records of any labeled format: dated and named at listing (the date decides the
partition), georeferenced once the bytes are read.

- Date (only when the annotations give none): the TIFF DateTime tag (306, read from the header alone),
  else the product naming convention (`geo.products`: Sentinel-1/2, Landsat, NAIP, BigEarthNet), else
  the source's `default_year`; `extra.date_from` says which.
- Sensor: the annotation's, else the source's `sensor`, else the product name's.
- Georeferencing (`geo` extra: rasterio + pyproj): the file's centre in WGS84 (`lat`, `lon`), its CRS
  (`extra.crs`), and its mean pixel size in metres (`gsd_m`, degrees converted at the centre latitude
  for geographic CRSs). A georeferenced file's own values replace the annotation's and the source's.
  Without the extra, or when a georeferenced file cannot be placed (unreadable, a CRS without a path to
  WGS84), the record is kept as it is and `extra.georef_error` says why; a TIFF without any
  georeferencing (no GeoTIFF tags) is simply an image, with nothing recorded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, BinaryIO

from rs_assets.lib.geo.products import parse_product
from rs_assets.lib.geo.reader import georeference
from rs_assets.lib.geo.tiff_tags import read_ifd, tiff_datetime
from rs_assets.lib.raw_scrape.connectors.common import parse_datetime
from rs_assets.lib.raw_scrape.connectors.media import SNIFF_BYTES, image_format
from rs_assets.lib.records import RawItem

RASTER_SUFFIXES = (".tif", ".tiff", ".jp2", ".j2k")
_TIFF_SUFFIXES = (".tif", ".tiff")
_GEO_FORMATS = frozenset({"tiff", "jp2", "j2k"})
Opener = Callable[[str], BinaryIO | None]


def _header_date(open_file: Opener, rel: str) -> tuple[Any, str | None]:
    """(DateTime of the TIFF header, why the tag was not used); the file is read up to its tags."""
    handle = open_file(rel)
    if handle is None:
        return None, None  # refused or unreadable: the read says why
    try:
        with handle:
            when, bad = tiff_datetime(read_ifd(handle))
        return when, (f"DateTime tag {bad!r} is not YYYY:MM:DD HH:MM:SS" if bad else None)
    except (OSError, ValueError, SyntaxError, KeyError) as exc:  # Pillow's IFD parser on a broken file
        return None, f"unreadable TIFF header: {type(exc).__name__}: {exc}"[:200]


def dated_row(row: dict[str, Any], source_sensor: str | None, open_file: Opener) -> dict[str, Any]:
    """`row` with the date and sensor a raster's header and name give (module docstring); other rows
    unchanged."""
    rel = str(row.get("path") or "")
    if not rel.lower().endswith(RASTER_SUFFIXES):
        return row
    product = parse_product(rel)
    out, extra = dict(row), dict(row.get("extra") or {})
    if parse_datetime(row.get("date")) is None:
        when, problem = _header_date(open_file, rel) if rel.lower().endswith(_TIFF_SUFFIXES) else (None, None)
        if problem:
            extra["tiff_datetime_error"] = problem
        if when is not None:
            out["date"], extra["date_from"] = when, "tiff_datetime"
        elif product is not None:
            out["date"], extra["date_from"] = product.acquired, f"name ({product.convention})"
    if product is not None and not row.get("sensor") and not source_sensor:
        out["sensor"] = product.sensor
    if extra:
        out["extra"] = extra
    return out


def georeferenced(item: RawItem, content: bytes) -> RawItem:
    """`item` with the centre, CRS and pixel size of its TIFF/JP2 bytes (module docstring)."""
    if image_format(content[:SNIFF_BYTES]) not in _GEO_FORMATS:
        return item
    geo = georeference(content)
    extra = dict(item.extra)
    if geo.crs:
        extra["crs"] = geo.crs
    if geo.error:
        extra["georef_error"] = geo.error
    if geo.lat is None:
        return dataclasses.replace(item, extra=extra)
    return dataclasses.replace(item, lat=geo.lat, lon=geo.lon, gsd_m=geo.gsd_m or item.gsd_m, extra=extra)
