"""Real acquisition kinds through the real jobs: a `pairs` list whose images come from a site on
127.0.0.1 and a `labeled` folder, end to end to the release, every record accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site
from rs_assets_tests.pipeline import run_keys_subprocess

CAPTIONS = {  # caption -> the pool decision it must get
    "Sentinel-2 satellite image of farmland along a river": "kept",
    "Aerial photo of a harbour with container ships and cranes": "kept",
    "a cute cat sitting on a sofa": "keyword_prefilter",  # never downloaded
    "satellite": "text_too_short",
    "stock imagery of happy people in an office": "not_remote_sensing",
}


@pytest.fixture
def scenes() -> list[bytes]:
    """Real-looking JPEG scenes (the pool drops flat test images as blank)."""
    cfg = parse_sources({"sources": {"s": {"kind": "synthetic", "years": [2021], "per_year": 8, "seed": 11}}})
    return [i.content for i in generate("s", cfg["s"], 2021) if i.content and i.url.endswith(".jpg")][:7]


def test_pairs_and_labeled_sources_end_to_end(tmp_path: Path, scenes: list[bytes]) -> None:
    site = Site()
    base = site.start()
    try:
        site.add("/robots.txt", b"", "text/plain", status=404)
        for n, content in enumerate(scenes[:5]):
            site.add(f"/img/{n}.jpg", content, "image/jpeg")
        rows = [{"url": f"{base}/img/{n}.jpg", "caption": c, "year": 2021} for n, c in enumerate(CAPTIONS)]
        rows.append({"url": f"{base}/gone.jpg", "caption": "Landsat 8 scene of the Nile delta", "year": 2021})
        pq.write_table(pa.Table.from_pylist(rows), tmp_path / "pairs.parquet")
        folder = tmp_path / "ucm" / "harbor"
        folder.mkdir(parents=True)
        (folder / "a.jpg").write_bytes(scenes[5])
        (folder / "b.jpg").write_bytes(scenes[6])
        (folder / "notes.txt").write_text("not an image")
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            json.dumps(
                {
                    "sources": {
                        "web_pairs": {
                            "kind": "pairs",
                            "path": str(tmp_path / "pairs.parquet"),
                            "date_column": "year",
                            "default_year": 2021,
                            "allow_private_network": True,
                            "retries": 0,
                        },
                        "ucm": {
                            "kind": "labeled",
                            "path": str(tmp_path / "ucm"),
                            "default_year": 2021,
                            "sensor": "USGS orthoimagery",
                            "gsd_m": 0.3,
                            "captions": ["meta", "gaia", "mpgi"],
                        },
                    }
                }
            )
        )
        summary = run_keys_subprocess(sources, tmp_path / "home", ["web_pairs|2021", "ucm|2021"])
    finally:
        site.stop()
    assert [c for c in summary["failed_checks"] if not c.endswith("caption_quality")] == []
    decisions = summary["decisions"]
    for n, expected in enumerate(CAPTIONS.values()):
        assert decisions[f"{base}/img/{n}.jpg"] == expected
    assert decisions[f"{base}/gone.jpg"] == "fetch_failed"
    assert summary["raw_status"][f"{base}/gone.jpg"] == "http_error"
    assert "/img/2.jpg" not in [h.path for h in site.log]  # the prefiltered pair was never requested
    assert decisions["harbor/a.jpg"] == decisions["harbor/b.jpg"] == "kept"
    assert decisions["harbor/notes.txt"] == "fetch_failed"
    # labeled folders give labels: scene classification conversations exist for them
    assert summary["instruction_status"].get("scene_classification:ok", 0) >= 2
    released = sum(len(rows) for rows in summary["release"].values())
    assert released + len(summary["excluded"]) == 4  # 2 pairs + 2 labeled canonical images
