"""Real acquisition kinds through the real jobs: a `pairs` list whose images come from a site on
127.0.0.1 and a `labeled` folder, end to end to the release, every record accounted for."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site
from rs_assets_tests.pipeline import run_keys_subprocess

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.xdist_group("pipeline_sources")  # one pipeline run for the module
CAPTIONS = {  # caption -> the pool decision it must get
    "Sentinel-2 satellite image of farmland along a river": "kept",
    "Aerial photo of a harbour with container ships and cranes": "kept",
    "a cute cat sitting on a sofa": "keyword_prefilter",  # never downloaded
    "satellite": "text_too_short",
    "stock imagery of happy people in an office": "not_remote_sensing",
}


@pytest.fixture(scope="module")
def scenes() -> list[bytes]:
    """Real-looking JPEG scenes (the pool drops flat test images as blank)."""
    cfg = parse_sources({"sources": {"s": {"kind": "synthetic", "years": [2021], "per_year": 8, "seed": 11}}})
    return [i.content for i in generate("s", cfg["s"], 2021) if i.content and i.url.endswith(".jpg")][:7]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, scenes: list[bytes]) -> Iterator[dict[str, Any]]:
    """A pairs list served by a site on 127.0.0.1 and a labeled folder, through every job; the site
    stays up for the tests (img2dataset downloads from it again)."""
    tmp_path = tmp_path_factory.mktemp("sources")
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
        yield {"summary": summary, "base": base, "site": site, "home": tmp_path / "home", "tmp": tmp_path}
    finally:
        site.stop()


def test_pairs_and_labeled_sources_end_to_end(run: dict[str, Any]) -> None:
    summary, base, site = run["summary"], run["base"], run["site"]
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


def _url_lists(run: dict[str, Any]) -> pa.Table:
    lists = sorted((run["home"] / "lake" / "release" / "latest" / "urls").glob("*.parquet"))
    return pa.concat_tables([pq.read_table(p) for p in lists])


def test_url_list_holds_every_released_web_image(run: dict[str, Any]) -> None:
    released = {s[0] for rows in run["summary"]["release"].values() for s in rows}
    urls = _url_lists(run)
    assert urls.column_names == ["url", "caption", "sample_id", "source"]
    assert set(urls["source"].to_pylist()) == {"web_pairs"}  # labeled files have no URL to re-download
    assert set(urls["sample_id"].to_pylist()) <= released and urls.num_rows == 2  # the two kept pairs
    assert all(u.startswith(run["base"] + "/img/") for u in urls["url"].to_pylist())


def test_img2dataset_rebuilds_the_images_from_the_url_list(run: dict[str, Any]) -> None:
    """The real consumer: img2dataset (its own venv, `make img2dataset`) downloads the list again from
    the loopback site; every image comes back with the same bytes (sha256 == sample_id) and caption."""
    tool = Path(os.environ.get("RS_ASSETS_IMG2DATASET", REPO / ".venv-img2dataset" / "bin" / "img2dataset"))
    if not tool.exists() and not os.environ.get("CI"):
        pytest.skip("img2dataset is not installed (make img2dataset; .ci/run installs it)")
    listed = _url_lists(run)
    pq.write_table(listed, run["tmp"] / "urls.parquet")
    out = run["tmp"] / "img2dataset"
    done = subprocess.run(
        [
            str(tool), "--url_list", str(run["tmp"] / "urls.parquet"), "--input_format", "parquet",
            "--url_col", "url", "--caption_col", "caption", "--save_additional_columns", '["sample_id"]',
            "--output_folder", str(out), "--output_format", "files", "--resize_mode", "no",
            "--processes_count", "1", "--thread_count", "2", "--compute_hash", "sha256",
        ],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "WANDB_MODE": "disabled"},  # no phoning home
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    got = [json.loads(p.read_text()) for p in sorted(out.glob("*/*.json"))]
    assert [g["status"] for g in got] == ["success"] * listed.num_rows
    expected = dict(zip(listed["sample_id"].to_pylist(), listed["caption"].to_pylist(), strict=True))
    assert {g["sha256"]: g["caption"] for g in got} == expected
    assert all(g["sha256"] == g["sample_id"] for g in got)
