"""Shards of a partition for the `ray` executor: a stable split by record id, results in the lake.

A shard is the rows whose `record_id` hashes to it, so the split does not depend on row order or on
which machine computes it. Each shard's result is written to `shards/<asset>/source=<s>/year=<y>/
<fingerprint>.parquet`, keyed by a hash of its input rows and the stage configuration: a rerun after a
crash skips every finished shard, and a changed input or configuration never reuses a stale one.
Ray is imported only when the executor is `ray` (`pip install -e '.[ray]'`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.lib.lake import Lake
from rs_assets.lib.records import stable_hash

EXECUTORS = ("local", "ray")
ShardFn = Callable[[str, str, pa.Table, Any], None]  # (lake root, result key, shard rows, config) -> writes


def shard_of(record_id: str, shards: int) -> int:
    return int(stable_hash("shard", record_id), 16) % shards


def split(table: pa.Table, shard_size: int) -> list[pa.Table]:
    """Non-empty shards of about `shard_size` rows, each sorted by record_id."""
    shards = max(1, math.ceil(table.num_rows / max(1, shard_size)))
    index = pa.array([shard_of(r, shards) for r in table["record_id"].to_pylist()], pa.int64())
    parts = [table.filter(pc.equal(index, i)).sort_by("record_id") for i in range(shards)]
    return [p for p in parts if p.num_rows]


def shard_prefix(asset: str, source: str, year: int) -> str:
    return f"shards/{asset}/source={source}/year={year}/"


def shard_key(asset: str, source: str, year: int, rows: pa.Table, fingerprint: Any) -> str:
    digest = stable_hash(asset, fingerprint, rows.to_pylist(), length=24)
    return f"{shard_prefix(asset, source, year)}{digest}.parquet"


def ray_module() -> Any:
    """Ray, connected: `RAY_ADDRESS` (Ray's own variable) picks a cluster, else a local instance starts."""
    import ray

    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS") or None,
            include_dashboard=False,
            log_to_driver=False,
            ignore_reinit_error=True,
        )
    return ray


@dataclass(frozen=True)
class ShardPlan:
    """A partition's shards, their result keys in the lake, and which of them are still to compute."""

    parts: list[pa.Table]
    keys: list[str]
    todo: list[int]  # indices of the shards with no result yet

    def counts(self) -> dict[str, int]:
        n = len(self.parts)
        return {"shards": n, "shards_computed": len(self.todo), "shards_reused": n - len(self.todo)}


def plan_shards(
    lake: Lake, asset: str, source: str, year: int, table: pa.Table, fingerprint: Any, shard_size: int
) -> ShardPlan:
    """Split `table` and key each shard by its rows and `fingerprint`; a shard whose key exists is done."""
    parts = split(table, shard_size)
    keys = [shard_key(asset, source, year, p, fingerprint) for p in parts]
    return ShardPlan(parts, keys, [i for i, k in enumerate(keys) if not lake.has(k)])


def run_sharded(
    lake: Lake,
    asset: str,
    source: str,
    year: int,
    table: pa.Table,
    fn: ShardFn,
    config: Any,
    fingerprint: Any,
    shard_size: int,
) -> tuple[pa.Table, dict[str, int]]:
    """Every shard's result (finished ones read back, the rest computed as Ray tasks), concatenated."""
    plan = plan_shards(lake, asset, source, year, table, fingerprint, shard_size)
    if plan.todo:
        ray = ray_module()
        task = ray.remote(fn)
        ray.get([task.remote(lake.root, plan.keys[i], plan.parts[i], config) for i in plan.todo])
    tables = [lake.read_table(k) for k in plan.keys]
    merged = pa.concat_tables(tables, promote_options="permissive") if tables else None
    return merged, plan.counts()
