"""What rasterio and pyproj read from a raster's bytes: georeferencing (centre in WGS84, CRS, pixel size
in metres) and decimated bands for formats the numpy TIFF reader does not decode. Ordinary GeoTIFFs
(an EPSG CRS, a scale and tiepoint or a transformation matrix) are placed from their tags without
opening them in GDAL, ~10x cheaper; pyproj maps the centre either way.

Both come with the optional `geo` extra (`pip install 'rs_assets[geo]'`; the wheels ship GDAL and PROJ).
Without it `georeference` answers with the reason and `read_bands` raises ValueError naming it, so a
GeoTIFF is still ingested, only not georeferenced (callers of `centre_latlon` check `missing_extra`).
Imports are made per call (a dictionary lookup once loaded), so the product imports without the extra.
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from rs_assets.lib.geo.geodesy import pixel_size_m
from rs_assets.lib.geo.geotiff_keys import Affine6, geokeys, has_geo_tags
from rs_assets.lib.geo.tiff_tags import TIFF_MAGIC, read_ifd

_MEMFILE = re.compile(r"(/vsimem/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}[^:]*: ?")
MISSING = "the geo extra is not installed (pip install 'rs_assets[geo]'): not georeferenced"


@dataclass(frozen=True)
class Georef:
    """A raster's centre (WGS84), CRS (`EPSG:32633`, else its WKT) and mean pixel size in metres; or the
    reason it has none (`error`); all None for a raster that carries no georeferencing at all."""

    lat: float | None = None
    lon: float | None = None
    gsd_m: float | None = None
    crs: str | None = None
    error: str | None = None


def _quiet(rasterio: Any) -> None:
    """Silence rasterio's NotGeoreferencedWarning (the Georef says so). A process-wide filter for that one
    category: `warnings.catch_warnings` is not thread-safe, and the files are read on threads."""
    warnings.filterwarnings("ignore", category=rasterio.errors.NotGeoreferencedWarning)


def missing_extra() -> str | None:
    """None when rasterio and pyproj import, else why georeferencing is unavailable."""
    try:
        import pyproj  # noqa: F401
        import rasterio  # noqa: F401
    except ImportError:
        return MISSING
    return None


@lru_cache(maxsize=64)
def _crs_facts(crs_text: str) -> tuple[Any, bool, float]:
    """(transformer to WGS84 lon/lat, geographic?, CRS unit in metres or degrees). pyproj >= 3.1
    transformers are thread-safe, so one per CRS serves the reading threads."""
    from pyproj import CRS, Transformer

    crs = CRS.from_user_input(crs_text)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    geographic = bool(crs.is_geographic)
    transformer = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return transformer, geographic, math.degrees(unit) if geographic else unit


def centre_latlon(crs: str, x: float, y: float) -> tuple[float, float]:
    """(lat, lon) in WGS84 of point (x, y) in `crs` (WKT, `EPSG:n` or PROJ string); ValueError when the
    CRS is unknown or the point does not map to a valid WGS84 position."""
    from pyproj.exceptions import CRSError, ProjError

    try:
        transformer = _crs_facts(crs)[0]
        lon, lat = transformer.transform(x, y, errcheck=True)
    except (CRSError, ProjError) as exc:
        raise ValueError(f"cannot map to WGS84: {exc}") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"centre maps to lat {lat}, lon {lon}: outside WGS84")
    return lat, lon


@lru_cache(maxsize=64)
def crs_label(crs: str) -> str:
    """`EPSG:32633` when the CRS matches an authority code, else the CRS as given (WKT, PROJ string)."""
    from pyproj import CRS

    authority = CRS.from_user_input(crs).to_authority(min_confidence=70)
    return ":".join(authority) if authority else crs


def _centre(crs: str, label: str, transform: Affine6, width: int, height: int) -> Georef:
    """Centre and pixel size of a `width` x `height` grid placed by `transform` in `crs`."""
    a, b, c, d, e, f = transform
    col, row = width / 2, height / 2
    try:
        lat, lon = centre_latlon(crs, a * col + b * row + c, d * col + e * row + f)
    except ValueError as exc:
        return Georef(crs=label, error=str(exc))
    _, geographic, unit = _crs_facts(crs)
    gsd = pixel_size_m(math.hypot(a, d), math.hypot(b, e), geographic=geographic, unit=unit, lat=lat)
    return Georef(lat, lon, gsd if math.isfinite(gsd) and gsd > 0 else None, label)


def _georef(dataset: Any) -> Georef:
    from rasterio.transform import from_gcps

    crs, transform = dataset.crs, dataset.transform
    if crs is None and dataset.gcps[0]:  # Sentinel-1 GRD and other swath products: ground control points
        gcps, crs = dataset.gcps
        transform = from_gcps(gcps)
    if crs is None:
        return Georef()
    grid = (transform.a, transform.b, transform.c, transform.d, transform.e, transform.f)
    return _centre(crs.to_wkt(), crs.to_string(), grid, dataset.width, dataset.height)


def _from_tags(content: bytes) -> Georef | None:
    """Georef of a TIFF from its tags alone (`geo.geotiff_keys`): empty for a plain TIFF (with or
    without the extra), None when GDAL has to open it."""
    try:
        ifd = read_ifd(io.BytesIO(content))
    except Exception:  # a broken header: GDAL's answer names the problem
        return None
    if not has_geo_tags(ifd):
        return Georef()
    if reason := missing_extra():
        return Georef(error=reason)
    keys = geokeys(ifd)
    if keys is None:
        return None
    return _centre(keys.crs, keys.crs, keys.transform, int(ifd[256]), int(ifd[257]))


def georeference(content: bytes) -> Georef:
    """Georef of a TIFF/JP2 held in memory; never raises (the reason is in `error`). Ordinary GeoTIFFs
    are read from their tags, everything else (JPEG 2000, user-defined CRSs, GCPs) by GDAL."""
    if content[:4] in TIFF_MAGIC and (fast := _from_tags(content)) is not None:
        return fast
    if reason := missing_extra():
        return Georef(error=reason)
    import rasterio
    from rasterio.errors import RasterioError

    _quiet(rasterio)
    try:
        with rasterio.MemoryFile(content) as memory, memory.open() as dataset:
            return _georef(dataset)
    except (RasterioError, ValueError, OSError) as exc:  # the message names the in-memory file: dropped
        message = _MEMFILE.sub("", str(exc))
        return Georef(error=f"unreadable by GDAL: {type(exc).__name__}: {message}"[:300])


def read_bands(content: bytes, bands: tuple[int, ...], step: int) -> np.ndarray:
    """Every `step`-th pixel of `bands` (0-based) as (h, w, k), decoded by GDAL (LZW, JPEG, JPEG 2000...
    anything the numpy reader refuses); ValueError naming the reason when it cannot."""
    if reason := missing_extra():
        raise ValueError(reason.replace("not georeferenced", "cannot decode this raster"))
    import rasterio
    from rasterio.errors import RasterioError

    _quiet(rasterio)
    try:
        with rasterio.MemoryFile(content) as memory, memory.open() as dataset:
            shape = (len(bands), -(-dataset.height // step), -(-dataset.width // step))
            values = dataset.read([b + 1 for b in bands], out_shape=shape)
    except RasterioError as exc:
        raise ValueError(f"GDAL cannot decode it: {exc}") from None
    return np.moveaxis(values, 0, -1)
