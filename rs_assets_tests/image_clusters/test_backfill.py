"""Backfills cost linear: image_clusters (global) runs once per batch of partitions, in a backfill and
under the automation sensor, on a real Dagster instance."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

YEARS = range(2015, 2021)
KEYS = [f"six|{y}" for y in YEARS]


@pytest.fixture
def six_partitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dg.Definitions:
    """The definitions of a sources file with one synthetic source over six years."""
    sources = tmp_path / "sources.yaml"
    six = {"kind": "synthetic", "years": list(YEARS), "per_year": 4, "seed": 3}
    sources.write_text(json.dumps({"sources": {"six": six}}))
    monkeypatch.setenv("RS_ASSETS_SOURCES", str(sources))
    monkeypatch.setenv("RS_ASSETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RS_ASSETS_POOL_WORKERS", "1")
    from rs_assets.definitions import defs

    return defs()


def materialisations(instance: dg.DagsterInstance, asset: str) -> int:
    return len(instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records)


def _backfill(defs: dg.Definitions, instance: dg.DagsterInstance) -> None:
    """A 6-partition backfill of the whole graph: clusters built once, from every partition's pool."""
    from rs_assets.defs.jobs import in_backfill_order
    from rs_assets.lib.lake import Lake
    from rs_assets.lib.settings import lake_root

    runs = [(job, key, r.success) for job, key, r in in_backfill_order(defs, instance, KEYS)]
    assert all(ok for *_, ok in runs), runs
    assert [job for job, *_ in runs] == ["pool"] * 6 + ["clusters"] + ["partition"] * 6 + ["publish"]
    assert materialisations(instance, "image_clusters") == 1
    for asset in ("raw_scrape", "filtered_pool", "captions", "benchmark_splits"):
        assert materialisations(instance, asset) == 6, asset
    # the one clusters run saw every partition's pool: every kept image has its row
    lake = Lake(lake_root())
    pool, clusters = lake.read_all("filtered_pool"), lake.read_all("image_clusters")
    kept = {i for i, k in zip(pool["image_id"].to_pylist(), pool["kept"].to_pylist(), strict=True) if k}
    assert kept and set(clusters["image_id"].to_pylist()) == kept


def _run_requested(defs: dg.Definitions, instance: dg.DagsterInstance, requested: dict[str, set]) -> None:
    """Execute what a tick requested, in the jobs the sensor's runs would hold."""
    from rs_assets.lib.stages import stage

    for asset in ("image_clusters", "captions", "caption_scores", "instruction_sets", "benchmark_splits"):
        for key in requested.get(asset, ()):
            job = f"{stage(asset).job}_job"
            result = defs.resolve_job_def(job).execute_in_process(
                instance=instance, partition_key=key, asset_selection=[dg.AssetKey(asset)]
            )
            assert result.success, (asset, key)
    publish = [dg.AssetKey(a) for a in ("release", "warehouse") if a in requested]
    if publish:
        job = defs.resolve_job_def("publish_job")
        result = job.execute_in_process(instance=instance, asset_selection=publish)
        assert result.success


def test_automation_rebuilds_the_globals_once_per_batch(six_partitions: dg.Definitions) -> None:
    """After the backfill above, a batch of four pool updates: one image_clusters, then one release +
    warehouse (one instance for both parts keeps the test short)."""
    from rs_assets.defs.automation import SENSOR

    sensor = six_partitions.resolve_sensor_def(SENSOR)
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    with dg.instance_for_test() as instance:
        _backfill(six_partitions, instance)
        cursor = dg.evaluate_automation_conditions(defs=six_partitions, instance=instance).cursor
        quiet = dg.evaluate_automation_conditions(defs=six_partitions, instance=instance, cursor=cursor)
        assert quiet.total_requested == 0  # a finished backfill leaves nothing to do
        cursor = quiet.cursor
        for key in KEYS[:4]:  # a batch of partition updates
            assert (
                six_partitions.resolve_job_def("pool_job")
                .execute_in_process(instance=instance, partition_key=key)
                .success
            )
        counts: dict[str, int] = {}
        ticks = []
        for _ in range(6):
            tick = dg.evaluate_automation_conditions(defs=six_partitions, instance=instance, cursor=cursor)
            cursor = tick.cursor
            requested = {
                key.to_user_string(): tick.get_requested_partitions(key)
                for key in six_partitions.resolve_asset_graph().get_all_asset_keys()
                if tick.get_num_requested(key)
            }
            ticks.append(sorted(requested))
            for asset, parts in requested.items():
                counts[asset] = counts.get(asset, 0) + len(parts)
            _run_requested(six_partitions, instance, requested)
        assert counts == {"image_clusters": 1, "release": 1, "warehouse": 1}, ticks
        # clusters first, release + warehouse on a later tick, once clusters had materialised
        assert ticks[:2] == [["image_clusters"], ["release", "warehouse"]] and not any(ticks[2:]), ticks
        assert materialisations(instance, "image_clusters") == 2
        # the rebuild extended the last table (the pool only changed by re-running unchanged partitions)
        records = instance.fetch_materializations(dg.AssetKey("image_clusters"), limit=2).records
        modes = [r.asset_materialization.metadata["clustering"].value for r in records]
        assert modes == ["incremental", "full"], modes
