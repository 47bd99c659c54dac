"""The code location's inputs, read when definitions load (never at import): the sources file and
the partition scheme built from it. Cached per file version, so reloading picks up an edited file and a
test can load another sources file in process."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from rs_assets.lib import settings
from rs_assets.lib.partitions import YEAR_CRON, YEAR_FMT, parse_key
from rs_assets.lib.sources import load_sources


def partitions_def(source_names: list[str], start_year: str) -> dg.MultiPartitionsDefinition:
    """`source` static keys from the sources config; `year` a yearly time window whose current year exists."""
    return dg.MultiPartitionsDefinition(
        {
            "source": dg.StaticPartitionsDefinition(sorted(source_names)),
            "year": dg.TimeWindowPartitionsDefinition(
                cron_schedule=YEAR_CRON, fmt=YEAR_FMT, start=start_year, end_offset=1
            ),
        }
    )


@dataclass(frozen=True)
class Project:
    sources_file: Path
    sources: dict[str, Any]
    partitions: dg.MultiPartitionsDefinition

    def partition(self, context: dg.AssetExecutionContext) -> tuple[str, int, Any]:
        """(source, year, source config) of the running partition."""
        source, year = parse_key(context.partition_key)
        if source not in self.sources:
            raise dg.Failure(f"source {source!r} is not in {self.sources_file}")
        return source, year, self.sources[source]


@cache
def _load(path: Path, version: tuple[int, int], start_year: str) -> Project:
    sources = load_sources(path)
    return Project(path, sources, partitions_def(list(sources), start_year))


def load_project(path: Path | None = None) -> Project:
    """The project for `path` (default `RS_ASSETS_SOURCES`) and `RS_ASSETS_START_YEAR` as they are now."""
    path = path or settings.sources_path()
    stat = path.stat() if path.is_file() else None
    version = (stat.st_mtime_ns, stat.st_size) if stat else (0, 0)
    return _load(path, version, settings.start_year())
