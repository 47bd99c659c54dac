"""captions on the `ray` executor: each shard of the partition's canonical records captioned by a Ray
task, all tasks under one shared budget and rate limit (`llm/distributed.py`); the same rows, in the
same order, as `caption_partition` on the whole partition (every caption depends on its record only).
Strategies sent through the Batch API run on the whole partition, as on the local executor."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rs_assets.lib.captions.engine import (
    NOT_FAILED,
    CaptionResult,
    caption_partition,
    check_strategies,
    paid,
    row_stats,
)
from rs_assets.lib.code_versions import code_version
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.distributed import SharedLimits, in_input_order, run_llm_shards
from rs_assets.lib.llm.settings import LLMSettings


def caption_shard(
    root: str, key: str, rows: pa.Table, config: tuple[list[str], LLMSettings], host: Any
) -> tuple[pa.Table, dict[str, Any]]:
    """One shard in a Ray worker; its result is kept in the lake only when no row waits for a retry."""
    strategies, settings = config
    lake = Lake(root)
    limits = SharedLimits(host, settings.concurrency) if host is not None else None
    result = caption_partition(rows.to_pylist(), strategies, lake, settings, limits=limits)
    if all(s in NOT_FAILED for s in result.table["status"].to_pylist()):
        lake.write_table(key, result.table, {"rs_assets.shard": key})
    return result.table, result.stats


def caption_partition_sharded(
    lake: Lake,
    source: str,
    year: int,
    records: pa.Table,
    strategies: list[str],
    settings: LLMSettings,
    shard_size: int,
) -> tuple[CaptionResult, dict[str, int]]:
    """(the partition's caption rows and stats, shard counts). The stats' request numbers are this
    run's: a reused shard sent nothing."""
    check_strategies(strategies, settings)
    if records.num_rows == 0 or set(strategies) & settings.batch:
        # a Batch API run is already one provider-side job per partition: shards would split it and
        # park a Ray worker per shard for hours of polling
        return caption_partition(records.to_pylist(), strategies, lake, settings), {"shards": 0}
    fingerprint = {"code": code_version("captions"), "strategies": strategies, "llm": settings.fingerprint()}
    tables, stats, shards = run_llm_shards(
        lake,
        "captions",
        source,
        year,
        records,
        caption_shard,
        (list(strategies), settings),
        fingerprint,
        shard_size,
        settings if paid(settings) else None,
    )
    table = in_input_order(pa.concat_tables(tables), records["record_id"].to_pylist())
    return CaptionResult(table, {**stats, **row_stats(table.to_pylist(), settings)}), shards
