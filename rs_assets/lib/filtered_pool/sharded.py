"""filtered_pool on the `ray` executor: each shard decoded and decided by a Ray task, same rows as
`pool_partition` on the whole partition (decisions are per row, assessments per image)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from rs_assets.lib.code_versions import code_version
from rs_assets.lib.filtered_pool.driver import pool_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.shards import run_sharded


def pool_shard(root: str, key: str, rows: pa.Table, source_cfg: Any) -> None:
    """One shard in a Ray worker: images read from the lake, thumbnails and the result written to it."""
    lake = Lake(root)
    decided = pool_partition(
        rows,
        source_cfg,
        load_image=lake.get_image,
        put_thumb=lake.put_thumb,
        workers=1,
        max_pixels=source_cfg.max_pixels,
        rs_scorer=source_cfg.rs_scorer,
    )
    lake.write_table(key, decided, {"rs_assets.shard": key})


def pool_partition_sharded(
    lake: Lake, source: str, year: int, raw: pa.Table, source_cfg: Any, shard_size: int
) -> tuple[pa.Table, dict[str, int]]:
    if raw.num_rows == 0:
        return pool_partition(raw, source_cfg, lake.get_image, lake.put_thumb), {"shards": 0}
    fingerprint = {"code": code_version("filtered_pool"), "source": source_cfg.model_dump(mode="json")}
    decided, stats = run_sharded(
        lake, "filtered_pool", source, year, raw, pool_shard, source_cfg, fingerprint, shard_size
    )
    return decided.sort_by("record_id"), stats
