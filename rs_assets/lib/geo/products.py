"""What a product, tile or patch name says: the sensor and the acquisition time.

Official naming conventions, so a folder of downloaded scenes is dated without any metadata file:
- Sentinel-2 (compact names since Dec 2016; BigEarthNet v1/v2 patch names start with them):
  `S2A_MSIL2A_20200815T101031_N0214_R022_T33UUP_20200815T130012`, the first time is the sensing start;
  L1C granule band files `T33UUP_20200815T101031_B04.jp2`.
- Sentinel-1 (BigEarthNet-S1 patches too): `S1A_IW_GRDH_1SDV_20170613T165043_...`.
- Landsat Collection 1/2 product ids `LC08_L1TP_044034_20200815_20200822_02_T1` (the first date is the
  acquisition) and pre-collection scene ids `LC80440342020228LGN00` (year and day of year).
- NAIP quarter quads `m_3807537_ne_18_060_20180827` (the date after the resolution code).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

_LEAD = r"(?<![A-Za-z0-9])"


@dataclass(frozen=True)
class Product:
    convention: str  # which naming convention matched (see _CONVENTIONS)
    sensor: str
    acquired: datetime


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)


def _day(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)


def _day_of_year(text: str) -> datetime:
    return datetime.strptime(text, "%Y%j").replace(tzinfo=UTC)


_LANDSAT = {"C": "", "O": " OLI", "T": "", "E": "", "M": " MSS"}  # combined, OLI-only, TIRS/TM, ETM+, MSS
# (convention, pattern with groups (platform, time), sensor from the platform, time parser)
_CONVENTIONS: tuple[tuple[str, re.Pattern[str], Callable[[str], str], Callable[[str], datetime]], ...] = (
    (
        "sentinel-2",
        re.compile(_LEAD + r"S2([A-D])_MSI(?:L1C|L2A|L1B|L2H|L2F)_(\d{8}T\d{6})"),
        lambda p: f"Sentinel-2{p}",
        _stamp,
    ),
    (
        "sentinel-2 granule",
        re.compile(_LEAD + r"T\d{2}[A-Z]{3}_(\d{8}T\d{6})_B"),
        lambda p: "Sentinel-2",
        _stamp,
    ),
    (
        "sentinel-1",
        re.compile(_LEAD + r"S1([A-D])_(?:IW|EW|SM|WV|S\d)_[A-Z0-9_]*?(\d{8}T\d{6})"),
        lambda p: f"Sentinel-1{p}",
        _stamp,
    ),
    (
        "landsat",
        re.compile(_LEAD + r"L([COTEM]0[1-9])_L[12][A-Z]{2}_\d{6}_(\d{8})_\d{8}_\d{2}_(?:T1|T2|RT)"),
        lambda p: f"Landsat {int(p[1:])}{_LANDSAT[p[0]]}",
        _day,
    ),
    (
        "landsat scene",
        re.compile(_LEAD + r"L([COTEM][1-9])\d{6}(\d{7})[A-Z]{3}\d{2}"),
        lambda p: f"Landsat {p[1]}{_LANDSAT[p[0]]}",
        _day_of_year,
    ),
    ("naip", re.compile(_LEAD + r"m_\d{7}_[ns][ew]_\d{1,2}_[a-z0-9]+_(\d{8})"), lambda p: "NAIP", _day),
)


def parse_product(name: str) -> Product | None:
    """The product a file or folder name follows, searched from the leaf of a path to its root; None
    when no convention matches or its date is not a calendar date."""
    for part in reversed(name.replace("\\", "/").split("/")):
        for convention, pattern, sensor, when in _CONVENTIONS:
            match = pattern.search(part)
            if match is None:
                continue
            *platform, stamp = match.groups()
            try:
                return Product(convention, sensor(platform[0] if platform else ""), when(stamp))
            except ValueError:  # 20201345: not a date, try the other conventions
                continue
    return None
