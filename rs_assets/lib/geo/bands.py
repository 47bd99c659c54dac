"""Which bands of a multiband raster make its RGB composite (thumbnails, hashing, previews).

By band description when the file names its bands (GDAL writes them in TIFF tag 42112), else by the
sensor and the band count of the usual stacks:
- Sentinel-2: B04/B03/B02. Full stacks are in band-number order (13 bands B01..B12 with B8A, 12 without
  B10 as BigEarthNet and most L2A stacks, 10 without the 60 m bands, 4 = B02 B03 B04 B08).
- Landsat 8/9 (OLI): B4/B3/B2; Landsat 4-7 (TM/ETM+): B3/B2/B1.
- NAIP: bands 1-3 are red, green, blue; band 4 (near infrared) is never used, in particular never as
  an alpha channel.
- Anything else: the first three bands, or the first band as grey when there are fewer than three.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Bands = tuple[int, ...]  # 0-based band indexes: (red, green, blue) or (grey,)
_FIRST_THREE: Bands = (0, 1, 2)
# family -> (band names of red, green, blue, band count -> indexes of the usual stacks)
_FAMILIES: dict[str, tuple[tuple[str, str, str], dict[int, Bands]]] = {
    "sentinel-2": (("b04", "b03", "b02"), {13: (3, 2, 1), 12: (3, 2, 1), 10: (2, 1, 0), 4: (2, 1, 0)}),
    "landsat-oli": (("b4", "b3", "b2"), {11: (3, 2, 1), 10: (3, 2, 1), 8: (3, 2, 1), 7: (3, 2, 1)}),
    "landsat-tm": (("b3", "b2", "b1"), {8: (2, 1, 0), 7: (2, 1, 0), 6: (2, 1, 0), 4: (2, 1, 0)}),
    "naip": (("red", "green", "blue"), {}),
}
_SENSOR_FAMILY = (
    (re.compile(r"sentinel[ _-]?2|\bs2[a-d]?\b|\bmsi\b"), "sentinel-2"),
    (re.compile(r"landsat[ _-]?(8|9)|\blc0?[89]\b|\boli\b"), "landsat-oli"),
    (re.compile(r"landsat[ _-]?[4-7]|\bl[te]0?[4-7]\b|\betm\+?|\btm\b"), "landsat-tm"),
    (re.compile(r"\bnaip\b"), "naip"),
)
_PREFIX = re.compile(r"^(sr_|st_|toa_|band[ _]?)")


def sensor_family(sensor: str | None) -> str | None:
    """`sentinel-2`, `landsat-oli`, `landsat-tm`, `naip` or None for a free-text sensor name."""
    text = (sensor or "").lower()
    if "mss" in text:  # Landsat 1-5 MSS: green, red and two near-infrared bands, no blue
        return None
    return next((family for pattern, family in _SENSOR_FAMILY if pattern.search(text)), None)


def _normalised(description: str | None) -> str:
    """'SR_B4', 'band 4', 'B4 ' -> 'b4'; 'B8A' -> 'b8a'; 'Red' -> 'red'."""
    text = _PREFIX.sub("", (description or "").strip().lower())
    return f"b{text}" if text.isdigit() else text


def _by_name(names: Sequence[str], wanted: Sequence[str]) -> Bands | None:
    found = [names.index(w) for w in wanted if w in names]
    return tuple(found) if len(found) == 3 else None


def rgb_bands(count: int, sensor: str | None = None, descriptions: Sequence[str | None] = ()) -> Bands:
    """0-based indexes of the red, green and blue bands of a `count`-band raster (or one grey band)."""
    if count < 3:
        return (0,)
    names = [_normalised(d) for d in descriptions]
    if hit := _by_name(names, ("red", "green", "blue")):
        return hit
    family = sensor_family(sensor)
    if family is None and {"b04", "b03", "b02"} <= set(names):  # Sentinel-2's zero-padded band names
        family = "sentinel-2"
    if family is None:
        return _FIRST_THREE
    wanted, stacks = _FAMILIES[family]
    return _by_name(names, wanted) or stacks.get(count, _FIRST_THREE)
