"""Benchmark decontamination and caption selection through the real jobs: a `role: benchmark` labeled
source holds exact copies and near duplicates (re-encoded, brightened) of another labeled source's
synthetic scenes; nothing in their clusters may enter train/val, the card counts the removals, and the
catalog's caption_selection view explains every caption the release did not export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
from PIL import Image, ImageEnhance

from rs_assets.lib.caption_scores.vocab import DECISIONS
from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.pipeline import run_keys_subprocess

SYNTHETIC = {"kind": "synthetic", "years": [2021], "per_year": 10, "seed": 3}


def near_duplicate(content: bytes) -> bytes:
    """The same scene re-encoded at another quality and slightly brightened: new bytes, same pHash range."""
    image = ImageEnhance.Brightness(Image.open(io.BytesIO(content)).convert("RGB")).enhance(1.04)
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70)
    return buf.getvalue()


def bench_records(home: Path) -> set[str]:
    raw = pq.read_table(
        home / "lake" / "tables" / "raw_scrape" / "source=bench" / "year=2021" / "part-0.parquet"
    )
    return set(raw["record_id"].to_pylist())


def test_benchmark_overlaps_never_enter_train_or_val(tmp_path: Path) -> None:
    cfg = parse_sources({"sources": {"scenes": SYNTHETIC}})["scenes"]
    scenes = [(i.url.rsplit(".", 1)[-1], i.content) for i in generate("scenes", cfg, 2021) if i.content]
    assert len(scenes) >= 4
    for n, (ext, content) in enumerate(scenes):  # the training data: a labeled folder of the scenes
        (tmp_path / "data" / "scene").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "scene" / f"{n}.{ext}").write_bytes(content)
    folder = tmp_path / "bench" / "testset"
    folder.mkdir(parents=True)
    planted = scenes[:4]  # two exact copies, two near duplicates; the other scenes stay clean
    for n, (ext, content) in enumerate(planted):
        if n % 2:
            (folder / f"{n}.jpg").write_bytes(near_duplicate(content))
        else:
            (folder / f"{n}.{ext}").write_bytes(content)
    sources = tmp_path / "sources.yaml"
    bench = {"kind": "labeled", "path": str(tmp_path / "bench"), "default_year": 2021, "role": "benchmark"}
    data = {"kind": "labeled", "path": str(tmp_path / "data"), "default_year": 2021}
    sources.write_text(json.dumps({"sources": {"scenes": data, "bench": bench}}))
    home = tmp_path / "home"
    summary = run_keys_subprocess(sources, home, ["scenes|2021", "bench|2021"])
    assert [c for c in summary["failed_checks"] if not c.endswith("caption_quality")] == []
    clusters = summary["clusters"]
    assert any(c["cluster_size"] == 2 for c in clusters), "the near duplicates joined their originals"
    release = home / "lake" / "release" / "latest"
    excluded = pq.read_table(release / "excluded.parquet").to_pylist()
    overlap = [e for e in excluded if e["reason"] == "benchmark_overlap"]
    assert overlap and all(e["benchmarks"] == ["bench"] for e in overlap)
    # no train/val image shares a cluster with a benchmark image; the clean scenes still train
    bench_clusters = {c["cluster_id"] for c in clusters if c["record_id"] in bench_records(home)}
    cluster_of = {c["image_id"]: c["cluster_id"] for c in clusters}
    trained = [
        i
        for split in ("train", "val")
        if (release / "hf" / f"{split}.parquet").exists()
        for i in pq.read_table(release / "hf" / f"{split}.parquet")["image_id"].to_pylist()
    ]
    assert trained and not {cluster_of[i] for i in trained} & bench_clusters
    assert len(bench_clusters) == len(planted)
    card = (release / "README.md").read_text()
    assert f"| `bench` | {len(overlap)} |" in card
    # the funnel: candidates -> exported, and a reason for every caption not exported
    with duckdb.connect(str(home / "catalog.duckdb"), read_only=True) as conn:
        decisions = dict(conn.sql("SELECT decision, count(*) FROM caption_selection GROUP BY ALL").fetchall())
        unexplained = conn.sql(
            "SELECT count(*) FROM captions c LEFT JOIN caption_selection s USING (caption_id) "
            "WHERE c.status = 'ok' AND c.strategy IN ('meta', 'gaia', 'mpgi') AND s.decision IS NULL"
        ).fetchone()[0]
    assert set(decisions) <= set(DECISIONS) and decisions.get("selected", 0) > 0
    assert decisions.get("below_top_k", 0) > 0  # meta + gaia give 10 candidates, top_k is 5
    assert unexplained == 0
    assert "candidate captions ->" in card
