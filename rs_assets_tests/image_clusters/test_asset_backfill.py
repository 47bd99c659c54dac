"""A real Dagster asset backfill of the whole graph, launched as the UI launches one (the GraphQL
`launchPartitionBackfill` mutation, every asset selected) and driven by the daemon's own loops (the
backfill daemon plans the runs, the run queue admits them under the project's `dagster.yaml`
concurrency limits, a synchronous launcher executes them): `image_clusters` runs once, after the pool
of every partition and before any stage that reads it, and the queue never admits two runs of one
source at once."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon
from dagster_graphql.client.query import LAUNCH_PARTITION_BACKFILL_MUTATION
from dagster_graphql.test.utils import execute_dagster_graphql

REPO = Path(__file__).parents[2]
SOURCES = {"alpha": [2018, 2019, 2020], "beta": [2018, 2019, 2020]}
KEYS = [f"{s}|{y}" for s, years in SOURCES.items() for y in years]
SOURCE_TAG = "dagster/partition/source"
# step subprocesses cost seconds each; the in-process executor runs the same asset code
IN_PROCESS = {"execution": {"config": {"in_process": {}}}}


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkspaceProcessContext]:
    """A daemon workspace over the code location as `workspace.yaml` loads it, on an instance with the
    project's run-queue limits and a launcher that runs each admitted run to its end."""
    sources = {
        name: {"kind": "synthetic", "years": years, "per_year": 4, "seed": i + 3}
        for i, (name, years) in enumerate(SOURCES.items())
    }
    (tmp_path / "sources.yaml").write_text(json.dumps({"sources": sources}))
    monkeypatch.setenv("RS_ASSETS_SOURCES", str(tmp_path / "sources.yaml"))
    monkeypatch.setenv("RS_ASSETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RS_ASSETS_POOL_WORKERS", "1")
    overrides = {
        "concurrency": yaml.safe_load((REPO / "dagster.yaml").read_text())["concurrency"],
        "run_launcher": {
            "module": "dagster._core.launcher.sync_in_memory_run_launcher",
            "class": "SyncInMemoryRunLauncher",
        },
    }
    # SQLite's commits dominate on a slow disk: keep the instance in RAM where there is a tmpfs
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with (
        tempfile.TemporaryDirectory(dir=shm) as home,
        dg.instance_for_test(temp_dir=home, overrides=overrides) as instance,
    ):
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(module_name="rs_assets.definitions", attribute="defs"),
            location_name="rs_assets",
        )
        with create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as ctx:
            yield ctx


def launch_whole_graph_backfill(ctx: WorkspaceProcessContext, keys: list[str]) -> str:
    """What the UI sends for "select all assets -> Materialize -> these partitions"."""
    request = ctx.create_request_context()
    selection = [{"path": key.path} for key in request.asset_graph.get_all_asset_keys()]
    params = {"partitionNames": keys, "assetSelection": selection, "runConfigData": IN_PROCESS}
    result = execute_dagster_graphql(request, LAUNCH_PARTITION_BACKFILL_MUTATION, {"backfillParams": params})
    launched = result.data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def drive(ctx: WorkspaceProcessContext, backfill_id: str, ticks: int = 40) -> list[list[dg.DagsterRun]]:
    """Alternate the backfill daemon and the run-queue daemon until the backfill ends; the runs the
    queue admitted on each tick (they run to their end inside the tick)."""
    instance, log = ctx.instance, logging.getLogger("rs_assets_tests.backfill")
    queue = QueuedRunCoordinatorDaemon(interval_seconds=1)
    admitted = []
    for _ in range(ticks):
        errors = [e for e in execute_backfill_iteration(ctx, log) if e is not None]
        assert not errors, errors
        queued = {r.run_id for r in instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.QUEUED]))}
        list(queue.run_iteration(ctx))
        admitted.append([r for r in instance.get_runs() if r.run_id in queued and r.status.value != "QUEUED"])
        if instance.get_backfill(backfill_id).status != BulkActionStatus.REQUESTED:
            return admitted
    raise AssertionError(f"backfill {backfill_id} still running after {ticks} ticks")


def test_whole_graph_backfill_builds_image_clusters_once(workspace: WorkspaceProcessContext) -> None:
    instance = workspace.instance
    backfill_id = launch_whole_graph_backfill(workspace, KEYS)
    admitted = drive(workspace, backfill_id)

    assert instance.get_backfill(backfill_id).status == BulkActionStatus.COMPLETED_SUCCESS
    runs = instance.get_run_records(dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    assert runs and all(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in runs)

    def materialised(asset: str) -> list[str | None]:
        records = instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records
        return sorted(r.partition_key or "" for r in records)

    assert len(materialised("image_clusters")) == 1  # the bound is "at most twice"
    (record,) = instance.fetch_materializations(dg.AssetKey("image_clusters"), limit=2).records
    assert record.asset_materialization.metadata["clustering"].value == "full"  # nothing to extend yet
    for asset in ("raw_scrape", "filtered_pool", "captions", "caption_scores", "instruction_sets"):
        assert materialised(asset) == sorted(KEYS), asset
    assert materialised("benchmark_splits") == sorted(KEYS)
    assert len(materialised("release")) == len(materialised("warehouse")) == 1

    # order: every pool run ended before the clusters run started, which ended before any reader started
    def stages(record: dg.RunRecord) -> set[str]:
        return {key.to_user_string() for key in record.dagster_run.asset_selection or ()}

    pool = [r for r in runs if stages(r) & {"raw_scrape", "filtered_pool"}]
    (clusters,) = [r for r in runs if "image_clusters" in stages(r)]
    readers = [r for r in runs if "captions" in stages(r)]
    assert len(pool) == len(readers) == len(KEYS)
    assert max(r.end_time for r in pool) <= clusters.start_time
    assert clusters.end_time <= min(r.start_time for r in readers)

    # politeness: every per-partition run carries its source tag, and the queue admitted at most one
    # run per source per tick (the limit is per value: both sources ran side by side)
    assert all(r.dagster_run.tags.get(SOURCE_TAG) for r in pool + readers)
    per_tick = [Counter(r.tags[SOURCE_TAG] for r in tick if SOURCE_TAG in r.tags) for tick in admitted]
    assert max(max(c.values(), default=0) for c in per_tick) == 1, per_tick
    assert any(len(c) == len(SOURCES) for c in per_tick), per_tick
