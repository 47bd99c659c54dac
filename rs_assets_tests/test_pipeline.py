"""The demo chain, materialised by the real jobs into a real Dagster instance and a temp lake."""

from __future__ import annotations

import io
import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from PIL import Image

from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.warehouse.catalog import connect
from rs_assets_tests.pipeline import evaluated_checks, failed_checks, run_partitions

KEYS = ["demo_synthetic|2020", "demo_synthetic|2021", "tiny_synthetic|2020"]
TABLES = (
    "raw_scrape",
    "pool_decisions",
    "filtered_pool",
    "image_clusters",
    "captions",
    "instruction_sets",
    "benchmark_splits",
    "release",
    "lineage",
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One full run shared by the module's tests (it is the expensive part)."""
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RS_ASSETS_HOME", str(home))
        with dg.instance_for_test() as instance:
            results = run_partitions(instance, KEYS)
            records = instance.fetch_materializations(dg.AssetKey("filtered_pool"), limit=10).records
            yield {
                "home": home,
                "lake": Lake(str(home / "lake")),
                "results": results,
                "pool_materializations": records,
                "instance": instance,
            }


def test_every_check_passes_and_every_asset_checked(demo: dict) -> None:
    assert failed_checks(demo["results"]) == []
    checked = {c.split(":")[0] for c in evaluated_checks(demo["results"])}
    assert checked == {
        "raw_scrape",
        "filtered_pool",
        "image_clusters",
        "captions",
        "caption_scores",
        "instruction_sets",
        "benchmark_splits",
        "release",
        "warehouse",
    }


def test_every_table_is_non_empty_in_the_catalog(demo: dict) -> None:
    conn = connect(demo["home"] / "catalog.duckdb", demo["lake"])
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    assert all(n > 0 for n in counts.values()), counts
    assert counts["raw_scrape"] == counts["pool_decisions"] == 40 + 40 + 6
    # every raw row has exactly one decision; drops carry a reason and kept rows none
    assert conn.execute(
        "SELECT count(*) FROM pool_decisions WHERE kept = (drop_reason IS NOT NULL)"
    ).fetchone() == (0,)
    assert conn.execute("SELECT count(DISTINCT drop_reason) FROM pool_decisions").fetchone()[0] >= 3


def test_partition_files_carry_lineage_metadata(demo: dict) -> None:
    lake: Lake = demo["lake"]
    meta = pq.read_metadata(
        io.BytesIO(lake.read_bytes(table_key("captions", "demo_synthetic", 2020)))
    ).metadata
    assert meta[b"rs_assets.partition_key"] == b"demo_synthetic|2020"
    assert len(meta[b"rs_assets.run_id"]) == 36
    assert meta[b"rs_assets.config_fingerprint"]


def test_images_are_content_addressed_with_thumbnails(demo: dict) -> None:
    conn = connect(demo["home"] / "catalog.duckdb", demo["lake"])
    image_id, ext = conn.execute(
        "SELECT image_id, image_ext FROM filtered_pool JOIN raw_scrape USING (record_id, image_id) "
        "ORDER BY image_id LIMIT 1"
    ).fetchone()
    lake: Lake = demo["lake"]
    import hashlib

    assert hashlib.sha256(lake.get_image(image_id, ext)).hexdigest() == image_id
    thumb = Image.open(io.BytesIO(lake.get_thumb(image_id)))
    assert thumb.format == "JPEG" and max(thumb.size) <= 256


def test_only_canonical_images_are_captioned_and_splits_do_not_leak(demo: dict) -> None:
    conn = connect(demo["home"] / "catalog.duckdb", demo["lake"])
    assert conn.execute("""SELECT count(*) FROM captions c JOIN image_clusters k USING (image_id)
                           WHERE NOT k.is_canonical""").fetchone() == (0,)
    assert conn.execute("""SELECT count(*) FROM (SELECT cluster_id FROM benchmark_splits GROUP BY cluster_id
                           HAVING count(DISTINCT split) > 1)""").fetchone() == (0,)
    strategies = {r[0] for r in conn.execute("SELECT DISTINCT strategy FROM captions").fetchall()}
    assert {"meta", "gaia", "mpgi"} <= strategies


def test_release_exports_load_as_training_code_expects(demo: dict) -> None:
    release = Path(demo["lake"].root) / "release" / "latest"
    llava = json.loads((release / "llava" / "train.json").read_text())
    assert llava and all(t["conversations"][0]["value"].startswith("<image>\n") for t in llava)
    assert all((release / t["image"]).is_file() for t in llava)
    rows = (release / "open_clip" / "train.csv").read_text().splitlines()
    assert rows[0] == "filepath,caption,sample_id" and len(rows) > 1
    first_path = rows[1].split(",", 1)[0]
    Image.open(release / first_path).verify()  # relative to the release folder
    assert "0-1000 scale" in (release / "README.md").read_text()


def test_release_holds_every_task_family_and_a_llamafactory_folder(demo: dict) -> None:
    release = Path(demo["lake"].root) / "release" / "latest"
    llava = json.loads((release / "llava" / "train.json").read_text())
    tasks = {t["task"] for t in llava}
    assert {"brief_caption", "vqa_count", "vqa_absent", "grounding", "multi_turn", "reasoning"} <= tasks
    geochat = json.loads((release / "geochat" / "train.json").read_text())
    assert [g["id"] for g in geochat] == [t["id"] for t in llava]
    assert any("|<" in t["value"] for g in geochat for t in g["conversations"])  # GeoChat boxes
    info = json.loads((release / "dataset_info.json").read_text())
    qwen = json.loads((release / info["rs_qwen2vl_train"]["file_name"]).read_text())
    assert len(qwen) == len(llava) and all((release / s["images"][0]).is_file() for s in qwen)
    card = (release / "README.md").read_text()
    assert "## Box conventions" in card and "`qwen25vl`" in card
    conn = connect(demo["home"] / "catalog.duckdb", demo["lake"])
    assert conn.execute("SELECT count(*) FROM instruction_sets WHERE status = 'failed'").fetchone() == (0,)


def test_lineage_names_url_decisions_models_and_runs(demo: dict) -> None:
    conn = connect(demo["home"] / "catalog.duckdb", demo["lake"])
    row = conn.execute("""SELECT url, kept, scrape_run_id, pool_run_id, models, caption_run_ids
                          FROM lineage WHERE split = 'train' LIMIT 1""").fetchone()
    url, kept, scrape_run, pool_run, models, caption_runs = row
    assert url.startswith("synthetic://") and kept is True
    assert scrape_run and pool_run and caption_runs and models


def test_rematerialising_a_partition_is_idempotent(demo: dict) -> None:
    lake: Lake = demo["lake"]
    before = lake.read_table(table_key("captions", "tiny_synthetic", 2020))
    run_partitions(demo["instance"], ["tiny_synthetic|2020"], publish=False)
    after = lake.read_table(table_key("captions", "tiny_synthetic", 2020))
    assert sorted(before["caption_id"].to_pylist()) == sorted(after["caption_id"].to_pylist())
    assert sorted(before["text"].to_pylist()) == sorted(after["text"].to_pylist())


def test_ui_metadata_shows_counts_schema_and_a_preview(demo: dict) -> None:
    meta = demo["pool_materializations"][0].asset_materialization.metadata
    assert meta["dagster/row_count"].value > 0 and "drop_reasons" in meta
    assert {c.name for c in meta["dagster/column_schema"].schema.columns} >= {"kept", "drop_reason", "phash"}
    preview = meta["preview"].value
    assert preview.startswith("| record_id | kept | drop_reason |") and len(preview.splitlines()) == 2 + 5
