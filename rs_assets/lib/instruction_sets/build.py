"""Instruction rows: one LLaVA conversation per (image, task), or a `skipped` row with its reason."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from rs_assets.lib.captions.strategies import PREFERENCE
from rs_assets.lib.instruction_sets.tasks import TASKS, Pairs
from rs_assets.lib.records import stable_hash


def llava_turns(pairs: Pairs) -> list[dict[str, str]]:
    """LLaVA turns; the image token goes in the first human turn only."""
    turns = []
    for i, (question, answer) in enumerate(pairs):
        turns.append({"from": "human", "value": f"<image>\n{question}" if i == 0 else question})
        turns.append({"from": "gpt", "value": answer})
    return turns


def build_instructions(
    records: Sequence[dict[str, Any]], captions: Sequence[dict[str, Any]], tasks: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per (image, task): a conversation, or status `skipped` with the reason."""
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        raise ValueError(f"unknown instruction tasks {unknown}; one of {sorted(TASKS)}")
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in captions:
        if cap["status"] == "ok" and cap["strategy"] in PREFERENCE:
            by_image[cap["image_id"]].append(cap)
    rows = []
    for record in records:
        for name in tasks:
            task = TASKS[name]
            pairs, caption_ids, skip = task.answer(record, by_image.get(record["image_id"], []))
            conversations = json.dumps(llava_turns(pairs), ensure_ascii=False) if pairs else None
            rows.append(
                {
                    "instruction_id": stable_hash(
                        "instruction",
                        record["record_id"],
                        record["image_id"],
                        name,
                        task.version,
                        conversations,
                    ),
                    "image_id": record["image_id"],
                    "record_id": record["record_id"],
                    "source": record["source"],
                    "year": record["year"],
                    "task": name,
                    "conversations": conversations,
                    "caption_ids": caption_ids,
                    "prompt_id": task.prompt_id,
                    "status": "skipped" if skip else "ok",
                    "skip_reason": skip,
                }
            )
    return rows
