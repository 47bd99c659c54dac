"""Record-level logic of instruction_sets and benchmark_splits, without Dagster."""

from __future__ import annotations

import json
from collections import Counter

from rs_assets.lib.benchmark_splits.splits import assign_split, geo_cell
from rs_assets.lib.instruction_sets.build import build_instructions

RECORD = {
    "record_id": "r1",
    "image_id": "i1",
    "source": "s",
    "year": 2020,
    "width": 500,
    "height": 250,
    "labels": ["harbor", "water"],
    "objects": [
        {"cls": "ship", "x1": 50, "y1": 25, "x2": 100, "y2": 50},
        {"cls": "ship", "x1": 250, "y1": 125, "x2": 300, "y2": 250},
        {"cls": "storage_tank", "x1": 0, "y1": 0, "x2": 10, "y2": 10},
    ],
}
CAPS = [
    {"caption_id": "c1", "image_id": "i1", "strategy": "meta", "text": "meta text", "status": "ok"},
    {"caption_id": "c2", "image_id": "i1", "strategy": "gaia", "text": "gaia text", "status": "ok"},
    {"caption_id": "c3", "image_id": "i1", "strategy": "gaia", "text": "bad", "status": "refused"},
]
TASKS = ["brief_caption", "scene_classification", "vqa_count", "grounding"]


def _by_task(rows):
    return {r["task"]: r for r in rows}


def test_tasks_become_llava_conversations() -> None:
    rows = _by_task(build_instructions([RECORD], CAPS, TASKS))
    brief = json.loads(rows["brief_caption"]["conversations"])
    assert brief[0]["from"] == "human" and brief[0]["value"].startswith("<image>\n")
    assert brief[1]["value"] == "gaia text" and rows["brief_caption"]["caption_ids"] == ["c2"]
    assert json.loads(rows["scene_classification"]["conversations"])[1]["value"] == "harbor, water"
    counts = json.loads(rows["vqa_count"]["conversations"])
    assert [t["value"] for t in counts if t["from"] == "gpt"] == ["2", "1"]
    assert "<image>" not in counts[2]["value"]  # image token only in the first turn
    ground = json.loads(rows["grounding"]["conversations"])
    assert ground[1]["value"] == "[100, 100, 200, 200], [500, 500, 600, 1000]"  # 0-1000 scale, sorted


def test_missing_inputs_are_skipped_with_a_reason() -> None:
    bare = {**RECORD, "labels": [], "objects": []}
    rows = _by_task(build_instructions([bare], [], TASKS))
    assert {t: (r["status"], r["skip_reason"]) for t, r in rows.items()} == {
        "brief_caption": ("skipped", "no_caption"),
        "scene_classification": ("skipped", "no_labels"),
        "vqa_count": ("skipped", "no_objects"),
        "grounding": ("skipped", "no_objects"),
    }
    assert all(r["conversations"] is None for r in rows.values())


def test_instruction_ids_are_stable_and_distinct() -> None:
    a = build_instructions([RECORD], CAPS, TASKS)
    b = build_instructions([RECORD], CAPS, TASKS)
    assert [r["instruction_id"] for r in a] == [r["instruction_id"] for r in b]
    assert len({r["instruction_id"] for r in a}) == len(TASKS)


def test_geo_cells() -> None:
    assert geo_cell(37.5, 121.9, deg=1.0) == "N37E121"
    assert geo_cell(37.6, 121.9) == "N37.5E121.75"
    assert geo_cell(-0.5, -0.5, deg=1.0) == "S1W1"
    assert geo_cell(None, 3.0) is None and geo_cell(float("nan"), 1.0) is None


def test_splits_are_a_pure_function_with_the_right_shares() -> None:
    splits = Counter(assign_split(f"cluster{i}", None) for i in range(20_000))
    assert abs(splits["train"] / 20_000 - 0.7) < 0.02
    assert abs(splits["val"] / 20_000 - 0.2) < 0.02
    assert abs(splits["test"] / 20_000 - 0.1) < 0.02
    # the cell decides when known: members of one cell share a split whatever their clusters
    assert len({assign_split(f"c{i}", "N10E20") for i in range(50)}) == 1
    assert assign_split("c1", None) == assign_split("c1", None)
