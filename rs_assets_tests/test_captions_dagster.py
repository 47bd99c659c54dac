"""The captions stage on the `openai` backend, through the real jobs, against the OpenAI-compatible stub
on 127.0.0.1: exactly-once spend across runs, and the API key never reaches logs, metadata or Parquet."""

from __future__ import annotations

import dagster as dg
import pyarrow.compute as pc
import pytest

from rs_assets.lib.lake import Lake, table_key
from rs_assets_tests.openai_stub_server import Fault, StubServer
from rs_assets_tests.pipeline import failed_checks, run_partitions

KEY = "sk-test-DAGSTER-SECRET-42"


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch):
    server = StubServer().start()
    for name, value in {
        "RS_ASSETS_LLM": "openai",
        "OPENAI_BASE_URL": server.base_url,
        "OPENAI_API_KEY": KEY,
        "RS_ASSETS_LLM_BACKOFF_S": "0.01",
    }.items():
        monkeypatch.setenv(name, value)
    try:
        yield server
    finally:
        server.stop()


def _everything_recorded(instance: dg.DagsterInstance, run_ids: list[str]) -> str:
    return "\n".join(str(e) for run_id in run_ids for e in instance.all_logs(run_id))


def test_openai_backend_through_dagster(stub: StubServer, rs_home) -> None:
    stub.add_faults(Fault(refusal="I can't help with that."))
    with dg.instance_for_test() as instance:
        first = run_partitions(instance, ["tiny_synthetic|2020"], publish=False)
        quality = [
            e for r in first for e in r.get_asset_check_evaluations() if e.check_name == "caption_quality"
        ]
        assert quality[0].metadata["refused"].value == 1  # the refusal is a recorded row, not a crash
        assert [c for c in failed_checks(first) if c != "captions:caption_quality"] == []
        calls = len(stub.calls())
        assert calls > 0
        lake = Lake(str(rs_home / "lake"))
        table = lake.read_table(table_key("captions", "tiny_synthetic", 2020))
        gaia = table.filter(pc.equal(table["strategy"], "gaia"))
        assert set(gaia["status"].to_pylist()) == {"ok", "refused"}
        assert set(gaia["model"].to_pylist()) == {"gpt-4o"}
        assert sum(gaia["cost_usd"].to_pylist()) > 0
        second = run_partitions(instance, ["tiny_synthetic|2020"], publish=False)
        retried = len(stub.calls()) - calls
        assert retried == 1  # only the refused image is asked again; every stored answer is reused
        assert failed_checks(second) == []
        run_ids = [r.run_id for r in first + second]
        assert KEY not in _everything_recorded(instance, run_ids)
    assert all(KEY.encode() not in lake.read_bytes(k) for k in lake.list("tables/"))
    assert all(KEY.encode() not in lake.read_bytes(k) for k in lake.list("llm_cache/"))
    assert all(KEY not in str(c.body) for c in stub.calls())  # the key travels only in the header
