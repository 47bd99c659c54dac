"""captions on the `ray` executor: shards as tasks on a real local Ray instance (2 CPUs) against the real
OpenAI-compatible stub on loopback. Same rows as the local executor; one rate limiter, concurrency budget
and spend budget for all workers (the stub's arrival times and peak in-flight tell); a rerun sends
nothing and skips every shard."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.captions.sharded import caption_partition_sharded
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.ratelimit import BURST_S, PROBE
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import Fault, StubServer, StubState
from rs_assets_tests.test_llm_ratelimit import busiest

pytestmark = pytest.mark.xdist_group("ray")
STRATEGIES = ["meta", "gaia", "mpgi"]
PARTITION = "tiny_synthetic|2020"


@pytest.fixture(scope="module")
def server() -> Iterator[StubServer]:
    """One stub for the module: the same OPENAI_BASE_URL lets Ray reuse its workers between tests."""
    server = StubServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stub(server: StubServer, monkeypatch: pytest.MonkeyPatch) -> StubServer:
    server.state = StubState()  # no calls, limits or latency from an earlier test
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-ray")
    return server


def openai(**changes: Any) -> LLMSettings:
    fast = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0, **changes}
    return replace(LLMSettings.from_values({"backend": "openai"}), **fast)


def records_in(root: Path, n: int) -> pa.Table:
    """`n` canonical records (sorted by record_id, as the asset passes them) with their images in `root`."""
    return pa.Table.from_pylist(caption_records(Lake(str(root)), n)).sort_by("record_id")


def local_run(root: Path, n: int, settings: LLMSettings) -> Any:
    """The local executor on the same records, in a lake of its own."""
    return caption_partition(records_in(root, n).to_pylist(), STRATEGIES, Lake(str(root)), settings)


def sharded(root: Path, records: pa.Table, settings: LLMSettings, shard_size: int = 3) -> Any:
    return caption_partition_sharded(Lake(str(root)), "demo", 2020, records, STRATEGIES, settings, shard_size)


def test_offline_shards_give_the_local_rows_and_a_rerun_reuses_them(local_ray: None, tmp_path: Path) -> None:
    settings = LLMSettings()
    local = local_run(tmp_path / "a", 8, settings)
    records = records_in(tmp_path / "b", 8)
    result, shards = sharded(tmp_path / "b", records, settings)
    assert shards["shards"] >= 2 and shards["shards_computed"] == shards["shards"]
    assert result.table.to_pylist() == local.table.to_pylist()  # ids, texts, statuses, order
    assert result.stats["ok_rows"] == local.stats["ok_rows"] and result.stats["failed"] == 0

    again, shards = sharded(tmp_path / "b", records, settings)
    assert shards["shards_reused"] == shards["shards"] and shards["shards_computed"] == 0
    assert again.table.to_pylist() == local.table.to_pylist()
    lake = Lake(str(tmp_path / "b"))
    lake.delete(lake.list("shards/captions/")[0])  # as if the run had died before this shard finished
    resumed, shards = sharded(tmp_path / "b", records, settings)
    assert (shards["shards_computed"], shards["shards_reused"]) == (1, shards["shards"] - 1)
    assert resumed.table.to_pylist() == local.table.to_pylist()


def test_openai_shards_give_the_local_rows_and_a_rerun_sends_nothing(
    local_ray: None, stub: StubServer, tmp_path: Path
) -> None:
    settings = openai()
    local = local_run(tmp_path / "a", 6, settings)
    local_calls = len(stub.calls())
    records = records_in(tmp_path / "b", 6)
    result, shards = sharded(tmp_path / "b", records, settings)
    assert {r["status"] for r in result.table.to_pylist()} == {"ok"}
    assert result.table.to_pylist() == local.table.to_pylist()
    assert len(stub.calls()) - local_calls == result.stats["calls"] == local.stats["calls"]
    assert result.stats["cost_usd"] == pytest.approx(local.stats["cost_usd"])

    before = len(stub.calls())
    again, shards = sharded(tmp_path / "b", records, settings)
    assert len(stub.calls()) == before  # nothing asked again
    assert shards["shards_reused"] == shards["shards"] >= 2
    assert again.table.to_pylist() == local.table.to_pylist()


def test_two_workers_share_one_rate_one_concurrency_budget_and_a_429s_pause(
    local_ray: None, stub: StubServer, tmp_path: Path
) -> None:
    rpm, window = 1200, 2.0  # 20 requests/s; two unshared limiters would send twice that
    stub.state.rpm, stub.state.latency = rpm, 0.05
    stub.add_faults(*[Fault()] * 24, Fault(status=429, retry_after=1.0))  # mid-run, both workers busy
    records = records_in(tmp_path, 12)
    result, shards = sharded(tmp_path, records, openai(concurrency=3, backoff_max_s=2.0), shard_size=6)
    assert shards["shards_computed"] == 2 and result.stats["failed"] == 0
    calls = stub.calls()
    times = [r.at for r in calls]
    assert len(times) == result.stats["calls"] + 1 == 12 * 6 + 1 and result.stats["retries"] == 1
    share = (window + BURST_S) * rpm / 60 + PROBE
    assert busiest(times, window) <= share, (busiest(times, window), share)
    assert stub.state.peak_in_flight <= 3  # one concurrency budget across both workers
    assert result.stats["rpm_limit"] == rpm
    # the 429 paused everyone: requests already sent arrive within ms, then nobody sends for ~1 s
    refused = calls[24].at
    assert not [t for t in times if refused + 0.1 < t < refused + 0.9]
    assert max(times) > refused + 0.9


def test_a_budget_holds_across_workers(local_ray: None, stub: StubServer, tmp_path: Path) -> None:
    # One record per shard: any one task's work fits the budget, all of it does not; a budget per task
    # or per worker would spend it all, the shared one stops every task at the cap.
    local = local_run(tmp_path / "a", 8, openai())
    budget = local.stats["cost_usd"] / 2
    records = records_in(tmp_path / "b", 8)
    result, shards = sharded(tmp_path / "b", records, openai(budget_usd=budget), shard_size=1)
    spent = sum(r["cost_usd"] for r in result.table.to_pylist())
    assert shards["shards_computed"] == shards["shards"] >= 4
    assert 0 < spent <= budget and result.stats["cost_usd"] == pytest.approx(spent)
    assert result.stats["budget_exhausted"] and result.stats["budget_exhausted_rows"] > 0
    # a shard with rows waiting for a retry is not kept: the next run asks for them again
    assert len(Lake(str(tmp_path / "b")).list("shards/captions/")) < shards["shards"]


def test_the_captions_asset_assembles_the_shards_and_runs_its_checks(local_ray: None, rs_home: Path) -> None:
    import dagster as dg

    from rs_assets.defs.captions.assets import build as build_captions
    from rs_assets.defs.filtered_pool.assets import build as build_pool
    from rs_assets.defs.image_clusters.assets import build as build_clusters
    from rs_assets.defs.project import load_project
    from rs_assets.defs.raw_scrape.assets import build as build_raw
    from rs_assets.defs.resources import ExecutorResource, LakeResource, PoolResource, llm_from_env
    from rs_assets.lib.lake import table_key

    project, lake = load_project(), Lake(str(rs_home / "lake"))

    def materialize(assets: list[Any], kind: str = "local", key: str | None = PARTITION) -> Any:
        resources = {
            "lake": LakeResource(root=lake.root),
            "llm": llm_from_env(),
            "pool": PoolResource(workers=1),
            "executor": ExecutorResource(kind=kind, shard_size=2),
        }
        result = dg.materialize(assets, partition_key=key, resources=resources)
        assert result.success
        return result

    materialize([build_raw(project), build_pool(project)])  # upstream of captions
    materialize([build_clusters(project)], key=None)

    def captions(kind: str) -> dg.ExecuteInProcessResult:
        return materialize([build_captions(project)], kind)

    key = table_key("captions", "tiny_synthetic", 2020)
    captions("local")
    local = lake.read_table(key)
    result = captions("ray")
    assert all(e.passed for e in result.get_asset_check_evaluations())
    meta = result.asset_materializations_for_node("captions")[0].metadata
    assert meta["executor"].value == "ray" and meta["executor/shards"].value >= 2
    assert lake.read_table(key).to_pylist() == local.to_pylist()
