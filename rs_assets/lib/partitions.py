"""Partition scheme (DESIGN 3): source x year, string key `<source>|<year>`."""

from __future__ import annotations

from typing import Any

import dagster as dg

from rs_assets.lib import settings


def partitions_def(source_names: list[str]) -> dg.MultiPartitionsDefinition:
    """`source` static keys from the sources config; `year` a yearly time window whose current year exists."""
    start = settings.start_year()
    return dg.MultiPartitionsDefinition(
        {
            "source": dg.StaticPartitionsDefinition(sorted(source_names)),
            "year": dg.TimeWindowPartitionsDefinition(
                cron_schedule="0 0 1 1 *", fmt="%Y", start=start, end_offset=1
            ),
        }
    )


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
