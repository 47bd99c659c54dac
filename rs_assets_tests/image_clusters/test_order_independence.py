"""Global results do not depend on the order partitions were materialised in, with real duplicates
across sources: a labeled folder holding exact copies and an upscaled re-encode of synthetic scenes."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image

from rs_assets.lib.raw_scrape.synthetic import generate
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.pipeline import run_keys_subprocess

SYNTH = {"kind": "synthetic", "years": [2020], "per_year": 6, "seed": 3}


def _write_sources(tmp: Path) -> Path:
    """`scenes` (synthetic) and `archive` (a labeled folder re-publishing three of its scenes)."""
    folder = tmp / "archive" / "harbor"
    folder.mkdir(parents=True)
    items = list(generate("scenes", parse_sources({"sources": {"scenes": SYNTH}})["scenes"], 2020))
    (folder / "copy0.bin").write_bytes(items[0].content)  # exact duplicate (same sha256)
    (folder / "copy1.bin").write_bytes(items[1].content)
    bigger = Image.open(io.BytesIO(items[2].content)).convert("RGB")
    bigger = bigger.resize((bigger.width * 5 // 4, bigger.height * 5 // 4))
    buf = io.BytesIO()
    bigger.save(buf, "JPEG", quality=88)
    (folder / "upscaled2.jpg").write_bytes(buf.getvalue())  # near duplicate, higher resolution
    path = tmp / "sources.yaml"
    path.write_text(
        json.dumps(
            {
                "sources": {
                    "scenes": SYNTH,
                    "archive": {
                        "kind": "labeled",
                        "path": str(tmp / "archive"),
                        "default_year": 2020,
                        "priority": 10,
                    },
                }
            }
        )
    )
    return path


def test_partition_order_does_not_change_clusters_or_release(tmp_path: Path) -> None:
    sources = _write_sources(tmp_path)
    forward = run_keys_subprocess(sources, tmp_path / "forward", ["scenes|2020", "archive|2020"])
    backward = run_keys_subprocess(sources, tmp_path / "backward", ["archive|2020", "scenes|2020"])
    assert forward["failed_checks"] == [] and backward["failed_checks"] == []
    assert forward["clusters"] == backward["clusters"]
    assert forward["release"] == backward["release"]
    assert forward["excluded"] == backward["excluded"]
    clusters = forward["clusters"]
    # exact copies are one row each (one image, represented once); the upscaled copy joins its scene
    # and, being larger, is the cluster's canonical image
    assert len(clusters) == 6 + 1
    pair = [c for c in clusters if c["cluster_size"] == 2]
    assert len(pair) == 2 and sum(c["is_canonical"] for c in pair) == 1
    released = {s[0] for rows in forward["release"].values() for s in rows}
    # each released image has one caption set (from its current representative record), not two
    for rows in forward["release"].values():
        for _, caption_ids, _ in rows:
            assert len(caption_ids) == len(set(caption_ids)) and len(caption_ids) <= 5 + 5
    assert not any(c["image_id"] in released for c in pair if not c["is_canonical"])
