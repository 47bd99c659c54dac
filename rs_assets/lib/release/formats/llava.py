"""LLaVA conversation JSON per split: `[{id, sample_id, task, conversations, image}]`; `image` is relative
to the release folder (LLaVA's `--image_folder`)."""

from __future__ import annotations

import json
from typing import Any

from rs_assets.lib.benchmark_splits.splits import SPLITS
from rs_assets.lib.instruction_sets.boxes import STORED_CONVENTION, rerender


def turns_in(conversation: dict[str, Any], convention: str) -> list[dict[str, str]]:
    """The conversation's turns with every box written in `convention` (from the stored pixel spans)."""
    turns = conversation["conversations"]
    if convention == STORED_CONVENTION:
        return turns
    values = rerender([t["value"] for t in turns], conversation["regions"], convention)
    return [dict(t, value=v) for t, v in zip(turns, values, strict=True)]


def records(samples: dict[str, list[dict[str, Any]]], split: str, convention: str) -> list[dict[str, Any]]:
    """LLaVA records of a split with boxes in `convention`."""
    return [
        {"id": c["id"], "task": c["task"], "conversations": turns_in(c, convention), "image": s["image"]}
        for s in samples.get(split, [])
        for c in s["conversations"]
    ]


def write(out: Any, samples: dict[str, list[dict[str, Any]]]) -> None:
    if not out.options.image_folder:
        return
    for split in SPLITS:
        llava = [dict(r, sample_id=r["id"]) for r in records(samples, split, "llava")]
        data = json.dumps(llava, ensure_ascii=False, indent=1).encode()
        out.put(f"llava/{split}.json", data, "llava", split, len(llava))
