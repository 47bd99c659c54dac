"""`format: bigearthnet`: BigEarthNet v1.0 (Sentinel-2), one record per patch folder.

The dataset ships one folder per 120 x 120 px patch, `S2A_MSIL2A_20170613T101031_0_45/`, holding one
GeoTIFF per band (`<patch>_B01.tif` ... `<patch>_B12.tif`, `_B8A`, no B10) and
`<patch>_labels_metadata.json` with `labels` (CORINE classes), `coordinates` (`ulx`, `uly`, `lrx`,
`lry` in the patch CRS), `projection` (WKT) and `acquisition_date`. A record's image is the RGB
composite of B04/B03/B02 (10 m), percentile-stretched to 8 bits and stored as PNG; the band files stay
where they are. Labels come from the JSON; the date from it, else from the patch name; `lat`/`lon`
are the centre of `coordinates` in WGS84 (pyproj, `geo` extra).

Bad input is kept and explained: a patch without one of the RGB bands is `not_found` naming the band
file; a missing or malformed JSON leaves the image without labels and says why in
`extra.annotation_error`; other missing bands are listed in `extra.missing_bands`; a folder holding
neither band files nor the JSON is an `invalid_row`. Files at the dataset root (the cloud/snow patch
lists) are not patches and are skipped.
"""

from __future__ import annotations

import io
import itertools
import json
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from rs_assets.lib.geo.products import parse_product
from rs_assets.lib.geo.reader import centre_latlon, crs_label, missing_extra
from rs_assets.lib.geo.stretch import percentile_stretch
from rs_assets.lib.imaging import band_array
from rs_assets.lib.raw_scrape.connectors.common import parse_datetime
from rs_assets.lib.raw_scrape.connectors.files import BadRow, Row
from rs_assets.lib.raw_scrape.connectors.labeled import (
    Outcome,
    image_root,
    open_file,
    read_local,
    read_s3,
    walk_local,
    walk_s3,
)

BANDS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B09", "B11", "B12")
RGB = ("B04", "B03", "B02")
RGB_GSD_M = 10.0  # B02, B03 and B04 are Sentinel-2's 10 m bands
METADATA = "_labels_metadata.json"
MAX_METADATA_BYTES = 1_000_000  # a patch's JSON is ~1 KB


def _metadata(root: str, rel: str, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Fields of `<patch>_labels_metadata.json` (labels, date, lat, lon, crs) and what could not be
    read, as extra fields (`annotation_error`, `georef_error`)."""
    file = f"{name}{METADATA}"
    handle = open_file(root, f"{rel}/{file}", MAX_METADATA_BYTES)
    if handle is None:
        return {}, {"annotation_error": f"{file} missing or unreadable: labels, date and coordinates unknown"}
    try:
        with handle:
            meta = json.load(handle)
        if not isinstance(meta, dict):
            raise ValueError(f"a JSON {type(meta).__name__}, not an object")
    except (ValueError, OSError) as exc:  # JSONDecodeError, UnicodeDecodeError
        return {}, {"annotation_error": f"{file}: not readable JSON ({type(exc).__name__}: {exc})"[:300]}
    fields: dict[str, Any] = {"date": parse_datetime(meta.get("acquisition_date"))}
    labels = meta.get("labels")
    if not isinstance(labels, list):
        return fields, {"annotation_error": f"{file}: `labels` is not a list"}
    fields["labels"] = [str(v) for v in labels]
    corners, projection = meta.get("coordinates"), meta.get("projection")
    try:
        x = (float(corners["ulx"]) + float(corners["lrx"])) / 2
        y = (float(corners["uly"]) + float(corners["lry"])) / 2
    except (TypeError, KeyError, ValueError):
        return fields, {"annotation_error": f"{file}: `coordinates` needs numeric ulx, uly, lrx, lry"}
    if not isinstance(projection, str) or not projection.strip():
        return fields, {"annotation_error": f"{file}: no `projection`"}
    if reason := missing_extra():
        return fields, {"georef_error": reason}
    try:
        fields["lat"], fields["lon"] = centre_latlon(projection, x, y)
        fields["crs"] = crs_label(projection)
    except ValueError as exc:
        return fields, {"georef_error": f"{file}: `projection` {exc}"}
    return fields, {}


def _patch_row(source: Any, root: str, rel: str, files: set[str]) -> Row:
    name = posixpath.basename(rel)
    bands = [b for b in BANDS if f"{name}_{b}.tif" in files]
    if not bands and f"{name}{METADATA}" not in files:
        return BadRow(rel, 0, f"neither {name}_B04.tif nor {name}{METADATA}: not a BigEarthNet patch folder")
    meta, problems = _metadata(root, rel, name)
    product = parse_product(name)
    extra: dict[str, Any] = {"patch": name, **problems}
    if missing := [b for b in BANDS if b not in bands]:
        extra["missing_bands"] = missing
    if meta.get("crs"):
        extra["crs"] = meta["crs"]
    return {
        "path": rel,
        "labels": meta.get("labels", []),
        "date": meta.get("date") or (product.acquired if product else None),
        "lat": meta.get("lat"),
        "lon": meta.get("lon"),
        "sensor": source.sensor or (product.sensor if product else "Sentinel-2"),
        "gsd_m": RGB_GSD_M,
        "extra": extra,
    }


def rows(source: Any) -> Iterator[Row]:
    """One row per patch folder, in path order (the walk's; a patch's files are listed together)."""
    root = image_root(source)
    local = None if root.startswith("s3://") else Path(root).expanduser().resolve()
    if local is not None and not local.is_dir():
        raise FileNotFoundError(f"folder {root} does not exist")
    files = walk_s3(root) if local is None else walk_local(local)
    for folder, group in itertools.groupby(files, key=posixpath.dirname):
        names = {posixpath.basename(f) for f in group}
        if folder:
            yield _patch_row(source, root, folder, names)
        elif local is not None:  # the root's own files are patch lists; a folder here is a link leaving it
            yield from ({"path": n} for n in sorted(names) if (local / n).is_dir())


def _band(source: Any, rel: str, band: str) -> tuple[np.ndarray | None, Outcome | None]:
    name = posixpath.basename(rel)
    file = f"{rel}/{name}_{band}.tif"
    root = image_root(source)
    if root.startswith("s3://"):
        status, error, content = read_s3(root, file, source.max_bytes)
    else:
        status, error, content = read_local(Path(root).expanduser().resolve(), file, source.max_bytes)
    if content is None:
        return None, (status, f"band {band} ({file}): {error}", None)
    try:
        return band_array(content, source.max_pixels), None
    except ValueError as exc:
        return None, ("bad_content_type", f"band {band} ({file}): {exc}", None)


def read(source: Any, rel: str) -> Outcome:
    """The patch's B04/B03/B02 composite as an 8-bit RGB PNG (deterministic bytes: same patch, same
    image_id), or the status of the first band that could not be read."""
    planes = []
    for band in RGB:
        values, failed = _band(source, rel, band)
        if failed:
            return failed
        planes.append(values)
    shapes = {p.shape for p in planes}
    if len(shapes) != 1:
        return "bad_content_type", f"RGB bands differ in size: {sorted(shapes)}", None
    buf = io.BytesIO()
    Image.fromarray(percentile_stretch(np.stack(planes, axis=-1)), "RGB").save(buf, "PNG")
    return "ok", None, buf.getvalue()
