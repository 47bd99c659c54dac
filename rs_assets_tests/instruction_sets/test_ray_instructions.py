"""instruction_sets' model path on the `ray` executor (a real local Ray instance, 2 CPUs): the same rows as
the local executor, offline and against the real OpenAI-compatible stub; a rerun sends nothing and
skips every shard."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rs_assets.lib.instruction_sets.llm import instruction_partition
from rs_assets.lib.instruction_sets.sharded import instruction_partition_sharded
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.instruction_sets.test_instruction_tasks import VOCAB
from rs_assets_tests.instruction_sets.test_instructions_openai import MIX, harbour, settings
from rs_assets_tests.openai_stub_server import StubServer

pytestmark = pytest.mark.xdist_group("ray")


def both(tmp_path: Path, s: LLMSettings) -> tuple[list[dict[str, Any]], pa.Table, Any, Any]:
    """(local rows, the records, sharded result, shard counts) on the same 5 records, each run in its
    own lake."""
    local_lake, ray_lake = Lake(str(tmp_path / "a")), Lake(str(tmp_path / "b"))
    records = pa.Table.from_pylist(harbour(local_lake, 5)).sort_by("record_id")
    harbour(ray_lake, 5)
    local = instruction_partition(
        records.to_pylist(), [], MIX, VOCAB, None, backend="llm", lake=local_lake, settings=s
    )
    result, shards = run(ray_lake, records, s)
    return local.rows, records, result, shards


def run(lake: Lake, records: pa.Table, s: LLMSettings) -> Any:
    return instruction_partition_sharded(lake, "s", 2020, records, [], MIX, VOCAB, None, s, shard_size=2)


def test_offline_shards_give_the_local_rows(local_ray: None, tmp_path: Path) -> None:
    local, _, result, shards = both(tmp_path, LLMSettings())
    assert shards["shards_computed"] == shards["shards"] >= 2
    assert result.rows == local and {r["status"] for r in local if r["task"] != "vqa_count"} == {"ok"}


def test_openai_shards_give_the_local_rows_and_a_rerun_sends_nothing(
    local_ray: None, stub: StubServer, tmp_path: Path
) -> None:
    s = settings()
    local, records, result, shards = both(tmp_path, s)
    assert result.rows == local and result.stats["calls"] == len(stub.calls()) // 2 > 0
    assert {r["status"] for r in local} == {"ok"}
    before = len(stub.calls())
    again, shards = run(Lake(str(tmp_path / "b")), records, s)
    assert len(stub.calls()) == before and shards["shards_reused"] == shards["shards"]
    assert again.rows == local
