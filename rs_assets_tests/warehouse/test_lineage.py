"""Sample-level lineage: every exported sample id resolves in the `lineage` view to its URL or path and
the runs behind it; Dagster records code versions, data versions, URIs and column lineage."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from rs_assets.lib.code_versions import PACKAGE, code_version, stage_files
from rs_assets.lib.lake import table_key
from rs_assets.lib.stages import STAGES
from rs_assets.lib.warehouse.catalog import connect

pytestmark = pytest.mark.xdist_group("published")  # shares the session's `published` pipeline run


def _exported_ids(folder: Path) -> dict[str, set[str]]:
    """sample_id of every exported sample, by the export that carries it."""
    with open(folder / "open_clip" / "train.csv", newline="") as fh:
        open_clip = {r["sample_id"] for r in csv.DictReader(fh)}
    hf = {s for p in (folder / "hf").glob("*.parquet") for s in pq.read_table(p)["sample_id"].to_pylist()}
    llava = {d["sample_id"] for p in (folder / "llava").glob("*.json") for d in json.loads(p.read_text())}
    wds = {
        s
        for p in (folder / "webdataset").glob("*.parquet")
        for s in pq.read_table(p)["sample_id"].to_pylist()
    }
    karpathy = json.loads((folder / "karpathy" / "dataset_rs.json").read_text())["images"]
    return {
        "open_clip": open_clip,
        "hf": hf,
        "llava": llava,
        "webdataset": wds,
        "karpathy": {i["sample_id"] for i in karpathy}
        | {s["sample_id"] for i in karpathy for s in i["sentences"]},
    }


def test_every_exported_sample_id_resolves_to_a_url_and_runs(published: dict) -> None:
    ids = _exported_ids(published["dir"])
    assert all(ids.values()), {k: len(v) for k, v in ids.items()}
    conn = connect(published["catalog"], published["lake"])
    rows = {
        r[0]: r[1:]
        for r in conn.execute(
            """SELECT sample_id, sample_kind, url, scrape_run_id, pool_run_id, kept, cluster_id, split,
                      scrape_code_version, caption_ids, caption_run_ids, producer_run_id
               FROM lineage"""
        ).fetchall()
    }
    assert conn.execute("SELECT count(*) - count(DISTINCT sample_id) FROM lineage").fetchone() == (0,)
    for export, sample_ids in ids.items():
        missing = sample_ids - rows.keys()
        assert not missing, (export, sorted(missing)[:3])
        for sid in sample_ids:
            (
                kind,
                url,
                scrape_run,
                pool_run,
                kept,
                cluster,
                split,
                code,
                caption_ids,
                caption_runs,
                producer,
            ) = rows[sid]
            assert url.startswith("synthetic://") and len(scrape_run) == 36 and pool_run and kept, (
                export,
                sid,
            )
            assert cluster and split in ("train", "val", "test") and code == code_version("raw_scrape")
            if kind == "instruction":  # made by instruction_sets (from captions, labels or boxes)
                assert len(producer) == 36, (export, sid)
            else:
                assert caption_ids and caption_runs, (export, sid)
    kinds = (
        {rows[s][0] for s in ids["llava"]}
        | {rows[s][0] for s in ids["hf"]}
        | {rows[s][0] for s in ids["webdataset"]}
    )
    assert kinds == {"instruction", "caption", "image"}


def test_caption_samples_name_their_model_call(published: dict) -> None:
    conn = connect(published["catalog"], published["lake"])
    row = conn.execute(
        """SELECT l.models, l.prompt_ids, l.request_hashes, l.cost_usd, l.producer_run_id,
                  c.model, c.request_hash
           FROM lineage l JOIN captions c ON c.caption_id = l.sample_id
           WHERE l.sample_kind = 'caption' AND c.strategy = 'gaia' LIMIT 1"""
    ).fetchone()
    models, prompt_ids, hashes, cost, run, model, request_hash = row
    assert models == [model] and hashes == [request_hash] and prompt_ids and cost is not None and run


def test_assets_carry_code_versions_of_their_source_and_prompts() -> None:
    from rs_assets.definitions import defs

    graph = defs().resolve_asset_graph()
    for name in STAGES:
        node = graph.get(dg.AssetKey(name))
        assert node.code_version == code_version(name), name
    captions = {p.relative_to(PACKAGE).as_posix() for p in stage_files("captions")}
    raw = {p.relative_to(PACKAGE).as_posix() for p in stage_files("raw_scrape")}
    assert "prompts/gaia_vision.v1.md" in captions and "lib/llm/client.py" in captions
    assert not any(p.startswith("prompts/") for p in raw) and "lib/raw_scrape/rows.py" in raw
    assert "sql/views/02_lineage.sql" in {p.relative_to(PACKAGE).as_posix() for p in stage_files("warehouse")}
    assert len({code_version(n) for n in STAGES}) == len(STAGES)


def test_materialisations_record_data_version_uri_and_column_lineage(published: dict) -> None:
    instance: dg.DagsterInstance = published["instance"]
    event = instance.get_latest_materialization_event(dg.AssetKey("captions"))
    mat = event.asset_materialization
    meta = mat.metadata
    lake = published["lake"]
    assert meta["dagster/uri"].value == lake.uri(table_key("captions", "demo_synthetic", 2020))
    assert Path(meta["dagster/uri"].value).is_file()
    assert mat.tags["dagster/data_version"] == meta["content_hash"].value
    deps = meta["dagster/column_lineage"].value.deps_by_column
    assert {(d.asset_key.to_user_string(), d.column_name) for d in deps["caption_id"]} == {
        ("raw_scrape", "record_id"),
        ("raw_scrape", "image_id"),
    }
    file_meta = pq.read_metadata(meta["dagster/uri"].value).metadata
    assert file_meta[b"rs_assets.code_version"].decode() == code_version("captions")
    instr = instance.get_latest_materialization_event(dg.AssetKey("instruction_sets")).asset_materialization
    assert "caption_ids" in instr.metadata["dagster/column_lineage"].value.deps_by_column
