"""Public RS datasets in their native layouts through the real jobs, one fresh process: DOTA (oriented
polygons), DIOR and an Ultralytics YOLO root read with `format: auto`, RSICD (Karpathy captions), RSVQA-LR
(QA) and NWPU VHR-10 (COCO), on to the pool, clusters, captions (local backend) and
instruction sets, whose answers must say what the annotation files say."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.instruction_sets.inputs import noun
from rs_assets.lib.lake import Lake
from rs_assets_tests.pipeline import run_keys_subprocess
from rs_assets_tests.raw_scrape.test_formats_auto import LABELS, yolo_dataset
from rs_assets_tests.raw_scrape.test_formats_detection import dior, dota, nwpu_coco, write
from rs_assets_tests.raw_scrape.test_formats_text import rsicd, rsvqa_lr

pytestmark = pytest.mark.xdist_group("datasets_end_to_end")
KEYS = [f"{s}|2018" for s in ("dota", "dior", "yolo", "rsicd", "rsvqa", "vhr10")]


def _sources(tmp: Path) -> Path:
    images, annotations = nwpu_coco(tmp)
    karpathy = rsicd(tmp)
    common = {"kind": "labeled", "default_year": 2018}
    sources = {
        "dota": {"format": "dota", "path": str(dota(tmp))},
        "dior": {"format": "auto", "path": str(dior(tmp)), "classes": "dior"},
        "yolo": {"format": "auto", "path": str(yolo_dataset(tmp, "ultralytics"))},
        # rsicd's airport_1.jpg has the pixels of RSVQA's 1.tif: its lower priority makes it canonical
        "rsicd": {
            "format": "karpathy",
            "images": str(karpathy.parent / "RSICD_images"),
            "annotations": str(karpathy),
            "priority": 50,
        },
        "rsvqa": {"format": "rsvqa", "path": str(rsvqa_lr(tmp))},
        "vhr10": {"format": "coco", "images": str(images), "annotations": str(annotations)},
    }
    body = {"sources": {name: {**common, **s} for name, s in sources.items()}}
    return write(tmp / "sources.yaml", json.dumps(body))


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Lake]:
    tmp = tmp_path_factory.mktemp("datasets")
    summary = run_keys_subprocess(_sources(tmp), tmp / "home", KEYS)
    return summary, Lake(str(tmp / "home" / "lake"))


def _records(lake: Lake) -> dict[str, dict[str, Any]]:
    """raw_scrape rows with an image by (source, native_id)."""
    return {(r["source"], r["native_id"]): r for r in lake.read_all("raw_scrape").to_pylist()}


def _turns(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(question, answer) pairs of a conversation, the `<image>` tag dropped."""
    turns = [t["value"].removeprefix("<image>\n") for t in json.loads(row["conversations"])]
    return list(zip(turns[::2], turns[1::2], strict=True))


def test_every_stage_runs_and_records_reach_the_pool(run: tuple[dict[str, Any], Lake]) -> None:
    summary, lake = run
    assert summary["failed_checks"] == []
    raw = _records(lake)
    pool = {r["record_id"]: r for r in lake.read_all("filtered_pool").to_pylist()}
    kept = Counter(r["source"] for r in raw.values() if pool[r["record_id"]]["kept"])
    assert kept == {"dota": 4, "dior": 2, "yolo": 3, "rsicd": 2, "rsvqa": 2, "vhr10": 1}
    assert all(  # every readable image is kept; what could not be read is dropped as such
        pool[r["record_id"]]["kept"] == (r["status"] == "ok")
        and (r["status"] == "ok" or pool[r["record_id"]]["drop_reason"] == "fetch_failed")
        for r in raw.values()
    )
    dior_rows = [json.loads(r["extra"]) for (s, _), r in raw.items() if s == "dior"]
    assert {e["auto_format"] for e in dior_rows} == {"voc"} and {e["split"] for e in dior_rows} == {
        "train",
        "test",
    }
    canonical = {c["image_id"] for c in summary["clusters"] if c["is_canonical"]}
    captioned = {
        c["image_id"] for c in lake.read_all("captions").to_pylist() if c["status"] == "ok" and c["text"]
    }
    assert canonical and canonical <= captioned
    assert summary["release"]  # the publish job ran on these sources too


def test_instructions_answer_from_the_annotations(run: tuple[dict[str, Any], Lake]) -> None:
    _, lake = run
    raw = _records(lake)
    by_record = {r["record_id"]: r for r in raw.values()}
    rows = [r for r in lake.read_all("instruction_sets").to_pylist() if r["status"] == "ok"]
    ok = {
        (by_record[r["record_id"]]["source"], by_record[r["record_id"]]["native_id"], r["task"]): r
        for r in rows
    }

    airport = raw[("rsicd", "airport_1.jpg")]
    ((_, caption),) = _turns(ok[("rsicd", "airport_1.jpg", "legacy_caption")])
    assert caption in airport["ref_captions"]
    assert [a for _, a in _turns(ok[("rsvqa", "Images_LR/0.tif", "legacy_vqa")])] == ["yes", "12"]

    counted = [r for r in rows if r["task"] == "vqa_count"]
    assert {by_record[r["record_id"]]["source"] for r in counted} >= {"dota", "dior", "yolo", "vhr10"}
    for row in counted:  # one question per class, answered with its number of objects in the file
        counts = Counter(o["cls"] for o in by_record[row["record_id"]]["objects"])
        pairs = _turns(row)
        assert len(pairs) == len(counts)
        for cls, n in counts.items():
            assert any(noun(cls, 2) in q and a == str(n) for q, a in pairs), (cls, n, pairs)
    planes = [a for q, a in _turns(ok[("yolo", "train/a.jpg", "vqa_count")]) if noun("plane", 2) in q]
    in_file = sum(line.split()[0] == "0" for line in LABELS["a"].splitlines())  # class 0 is plane
    assert planes == [str(in_file)] == ["2"]
    dota_p1 = dict(_turns(ok[("dota", "train/images/P0001.png", "vqa_count")])).values()
    assert list(dota_p1) == ["1"] * 4  # large-vehicle, plane, planee, storage-tank (the ship is outside)

    for source, image in (("dota", "train/images/P0001.png"), ("dior", "JPEGImages-test/11726.jpg")):
        row = ok[(source, image, "grounding")]
        objects = [
            (o["cls"], o["x1"], o["y1"], o["x2"], o["y2"], o["poly"]) for o in raw[(source, image)]["objects"]
        ]
        boxes = [b for span in json.loads(row["regions"])["spans"] for b in span["boxes"]]
        assert boxes and all(
            (b["cls"], b["x1"], b["y1"], b["x2"], b["y2"], b.get("poly")) in objects for b in boxes
        )
    bridge = next(
        b
        for s in json.loads(ok[("dior", "JPEGImages-test/11726.jpg", "grounding")]["regions"])["spans"]
        for b in s["boxes"]
        if b["cls"] == "bridge"
    )
    assert bridge["poly"] == [20.0, 10.0, 60.0, 20.0, 50.0, 60.0, 10.0, 50.0]  # DIOR-R's robndbox kept
