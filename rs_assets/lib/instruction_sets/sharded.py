"""instruction_sets' model path (`instruction_backend: llm`) on the `ray` executor: each shard of the
partition's canonical records planned and rephrased by a Ray task, all tasks under one shared budget and
rate limit (`llm/distributed.py`). The same rows, in the same order, as `instruction_partition` on the
whole partition: a record's conversations depend on it, its captions and the source vocabulary only."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pyarrow as pa

from rs_assets.lib.captions.engine import check_prices, paid
from rs_assets.lib.code_versions import code_version
from rs_assets.lib.instruction_sets.inputs import Vocabulary
from rs_assets.lib.instruction_sets.llm import InstructionResult, instruction_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.distributed import SharedLimits, in_input_order, run_llm_shards
from rs_assets.lib.llm.settings import BATCH_INSTRUCTIONS, LLMSettings
from rs_assets.lib.records import stable_hash
from rs_assets.lib.stages import from_rows

Config = tuple[list[dict[str, Any]], Any, Vocabulary, int | None, LLMSettings]


def final(row: Mapping[str, Any]) -> bool:
    """Not retried by a rerun: a conversation, or a template's own verdict (no model outcome behind it)."""
    return row["status"] == "ok" or row["request_hash"] is None


def instruction_shard(
    root: str, key: str, rows: pa.Table, config: Config, host: Any
) -> tuple[pa.Table, dict[str, Any]]:
    """One shard in a Ray worker; its result is kept in the lake only when no row waits for a retry."""
    captions, mix, vocabulary, max_per_image, settings = config
    lake = Lake(root)
    images = set(rows["image_id"].to_pylist())
    result = instruction_partition(
        rows.to_pylist(),
        [c for c in captions if c["image_id"] in images],
        mix,
        vocabulary,
        max_per_image,
        backend="llm",
        lake=lake,
        settings=settings,
        limits=SharedLimits(host, settings.concurrency) if host is not None else None,
    )
    table = from_rows("instruction_sets", result.rows)
    if all(final(r) for r in result.rows):
        lake.write_table(key, table, {"rs_assets.shard": key})
    return table, result.stats


def instruction_partition_sharded(
    lake: Lake,
    source: str,
    year: int,
    records: pa.Table,
    captions: Sequence[dict[str, Any]],
    mix: Mapping[str, float] | Sequence[str],
    vocabulary: Vocabulary,
    max_per_image: int | None,
    settings: LLMSettings,
    shard_size: int,
) -> tuple[InstructionResult, dict[str, int]]:
    """(the partition's rows and stats, shard counts); the stats' request numbers are this run's."""
    check_prices(settings, [settings.vision_model])
    if records.num_rows == 0 or BATCH_INSTRUCTIONS in settings.batch:  # one Batch API job, as captions'
        whole = instruction_partition(
            records.to_pylist(),
            captions,
            mix,
            vocabulary,
            max_per_image,
            backend="llm",
            lake=lake,
            settings=settings,
        )
        return whole, {"shards": 0}
    mix_value = dict(mix) if isinstance(mix, Mapping) else list(mix)
    fingerprint = {
        "code": code_version("instruction_sets"),
        "captions": stable_hash(list(captions), length=24),  # a changed caption reaches every shard
        "mix": mix_value,
        "vocabulary": asdict(vocabulary),
        "max_per_image": max_per_image,
        "llm": settings.fingerprint(),
    }
    tables, stats, shards = run_llm_shards(
        lake,
        "instruction_sets",
        source,
        year,
        records,
        instruction_shard,
        (list(captions), mix_value, vocabulary, max_per_image, settings),
        fingerprint,
        shard_size,
        settings if paid(settings) else None,
    )
    table = in_input_order(pa.concat_tables(tables), records["record_id"].to_pylist())
    summary = {**stats, "backend": settings.backend, "dry_run": settings.dry_run}
    return InstructionResult(table.to_pylist(), summary), shards
