"""Partition keys (DESIGN 3): source x year, string key `<source>|<year>`. The Dagster definition of
the scheme lives in `defs/project.py`; this module is the Dagster-free part."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rs_assets.lib import settings

YEAR_CRON = "0 0 1 1 *"  # yearly windows; `end_offset=1` in defs/project.py makes the current year exist
YEAR_FMT = "%Y"


def year_range() -> range:
    """The years that have a partition today (start year .. current year): a configured year outside it
    could never be run."""
    start, now = int(settings.start_year()), datetime.now(UTC).year
    if start > now:  # Dagster would make no partition, or a lone future one
        raise ValueError(f"RS_ASSETS_START_YEAR={start} is after the current year")
    return range(start, now + 1)


def parse_key(key: Any) -> tuple[str, int]:
    """(source, year) from a MultiPartitionKey (real runs) or its `source|year` string (tests)."""
    dims = getattr(key, "keys_by_dimension", None)
    if dims is not None:
        return dims["source"], int(dims["year"])
    source, sep, year = str(key).partition("|")
    if not sep:
        raise ValueError(f"partition key {key!r} is not '<source>|<year>'")
    return source, int(year)


def key_for(source: str, year: int) -> str:
    return f"{source}|{year}"
