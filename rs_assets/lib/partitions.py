"""Partition keys (DESIGN 3): source x year, string key `<source>|<year>`. The Dagster definition of
the scheme lives in `defs/project.py`; this module is the Dagster-free part."""

from __future__ import annotations

from typing import Any

YEAR_CRON = "0 0 1 1 *"  # yearly windows
YEAR_FMT = "%Y"


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
