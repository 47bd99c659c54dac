"""Partition scheme (DESIGN 3): source x year, string key `<source>|<year>`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import dagster as dg

from rs_assets.lib import settings


def _years() -> dg.TimeWindowPartitionsDefinition:
    """Yearly windows from `RS_ASSETS_START_YEAR`; end_offset=1 so the current (open) year exists."""
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule="0 0 1 1 *", fmt="%Y", start=settings.start_year(), end_offset=1
    )


def partitions_def(source_names: list[str]) -> dg.MultiPartitionsDefinition:
    """`source` static keys from the sources config; `year` a yearly time window whose current year exists."""
    return dg.MultiPartitionsDefinition(
        {"source": dg.StaticPartitionsDefinition(sorted(source_names)), "year": _years()}
    )


def year_range() -> range:
    """The years that have a partition today: a configured year outside it could never be run."""
    start = settings.start_year()
    if int(start) > datetime.now(UTC).year:  # Dagster would make no partition, or a lone future one
        raise ValueError(f"RS_ASSETS_START_YEAR={start} is after the current year")
    keys = _years().get_partition_keys()
    return range(int(keys[0]), int(keys[-1]) + 1)


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
