"""`RS_ASSETS_EXECUTOR=ray`: filtered_pool shards run as tasks on a real local Ray instance (2 CPUs) and
give the same table as the local executor; a rerun skips finished shards."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from rs_assets.defs.filtered_pool.assets import build as build_pool
from rs_assets.defs.project import load_project
from rs_assets.defs.raw_scrape.assets import build as build_raw
from rs_assets.defs.resources import ExecutorResource, LakeResource, PoolResource
from rs_assets.lib.lake import Lake, table_key

ray = pytest.importorskip("ray", reason="the ray extra is not installed: pip install -e '.[ray]'")
pytestmark = pytest.mark.xdist_group("ray")
KEY = "demo_synthetic|2020"


def materialize(root: Path, executor: ExecutorResource, selection: list[str] | None = None) -> dict:
    project = load_project()
    result = dg.materialize(
        [build_raw(project), build_pool(project)],
        selection=selection,
        partition_key=KEY,
        resources={
            "lake": LakeResource(root=str(root)),
            "pool": PoolResource(workers=1),
            "executor": executor,
        },
    )
    assert result.success
    return result.asset_materializations_for_node("filtered_pool")[0].metadata


def test_ray_shards_match_the_local_executor_and_resume(local_ray: None, tmp_path: Path) -> None:
    materialize(tmp_path / "local", ExecutorResource(kind="local"))
    meta = materialize(tmp_path / "ray", ExecutorResource(kind="ray", shard_size=7))
    key = table_key("filtered_pool", "demo_synthetic", 2020)
    local, sharded = (
        Lake(str(tmp_path / "local")).read_table(key),
        Lake(str(tmp_path / "ray")).read_table(key),
    )
    assert (
        meta["executor/shards"].value >= 5
        and meta["executor/shards_computed"].value == meta["executor/shards"].value
    )
    assert sharded.column_names == local.column_names
    assert sharded.to_pylist() == local.to_pylist()  # same rows, ids, decisions, hashes, scores
    lake = Lake(str(tmp_path / "ray"))
    thumbs = {k.rsplit("/", 1)[-1] for k in lake.list("thumbs/")}
    assert thumbs == {k.rsplit("/", 1)[-1] for k in Lake(str(tmp_path / "local")).list("thumbs/")}

    shards = lake.list("shards/filtered_pool/")
    lake.delete(shards[0])  # as if the run had died before this shard finished
    again = materialize(tmp_path / "ray", ExecutorResource(kind="ray", shard_size=7), ["filtered_pool"])
    assert again["executor/shards_computed"].value == 1
    assert again["executor/shards_reused"].value == len(shards) - 1
    assert lake.read_table(key).to_pylist() == local.to_pylist()


def test_unknown_executor_is_an_error() -> None:
    with pytest.raises(ValueError, match="RS_ASSETS_EXECUTOR='spark'"):
        ExecutorResource(kind="spark").checked()
