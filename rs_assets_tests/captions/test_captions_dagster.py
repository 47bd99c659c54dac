"""The captions stage on the `openai` backend, through the real jobs, against the OpenAI-compatible stub
on 127.0.0.1: exactly-once spend across runs, and the API key, even echoed back by the provider in an
error, a refusal or an answer, never reaches logs, metadata, the response store or Parquet."""

from __future__ import annotations

import json

import dagster as dg
import pyarrow.compute as pc
import pytest

from rs_assets.lib.lake import Lake, table_key
from rs_assets_tests.openai_stub_server import ECHOES, Fault, StubServer, key_leaks
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
    stub.add_faults(
        Fault(refusal="I can't help with that.", echo=ECHOES["stars"]),
        Fault(status=401, echo=ECHOES["upper"]),  # permanent: a failed row and a logged warning
        Fault(echo=ECHOES["whole"]),  # valid answers whose texts carry the key: stored and published
        Fault(echo=ECHOES["first 10"]),
        Fault(echo=ECHOES["sk-...last4"]),
    )
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
        assert sorted(set(gaia["status"].to_pylist())) == ["failed", "ok", "refused"]
        assert sum("sk-***" in t for t in gaia["text"].to_pylist() if t) == 3 * 5  # masked, still captions
        assert set(gaia["model"].to_pylist()) == {"gpt-4o"}
        assert sum(gaia["cost_usd"].to_pylist()) > 0
        second = run_partitions(instance, ["tiny_synthetic|2020"], publish=False)
        retried = len(stub.calls()) - calls
        assert retried == 2  # only the refused and failed images are asked again; stored answers are reused
        assert failed_checks(second) == []
        run_ids = [r.run_id for r in first + second]
        recorded = _everything_recorded(instance, run_ids)
        assert "HTTP 401" in recorded and key_leaks(recorded, KEY) == []
    tables = [k for k in lake.list("tables/") if k.endswith(".parquet")]
    assert any("/captions/" in k for k in tables)
    for key in tables:  # decoded (the files are zstd-compressed): rows and key-value metadata
        parquet = lake.read_table(key)
        text = json.dumps(parquet.to_pylist(), default=str) + str(parquet.schema.metadata)
        assert key_leaks(text, KEY) == [], key
    assert all(key_leaks(lake.read_bytes(k).decode(), KEY) == [] for k in lake.list("llm_cache/"))
    assert all(KEY not in str(c.body) for c in stub.calls())  # the key travels only in the header
