"""Template instruction tasks from labels, boxes and captions (RS-GPT4V style), as LLaVA conversations.

Boxes are written as integers on a 0-1000 scale `[x1, y1, x2, y2]` relative to the image (DESIGN 11).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from rs_assets.lib.captions.facts import plural
from rs_assets.lib.records import stable_hash

PROMPT_VERSION = "v1"
CAPTION_PREFERENCE = ("mpgi", "gaia", "meta")
BRIEF_QUESTIONS = (
    "Describe this remote sensing image briefly.",
    "Give a short caption for this aerial/satellite scene.",
    "What does this overhead image show? Answer in one or two sentences.",
)


def _box(obj: dict[str, Any], width: int, height: int) -> list[int]:
    def scale(v: float, size: int) -> int:
        return max(0, min(1000, round(1000 * v / size)))

    return [
        scale(obj["x1"], width),
        scale(obj["y1"], height),
        scale(obj["x2"], width),
        scale(obj["y2"], height),
    ]


def _turns(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    """LLaVA turns; the image token goes in the first human turn only."""
    turns = []
    for i, (question, answer) in enumerate(pairs):
        turns.append({"from": "human", "value": f"<image>\n{question}" if i == 0 else question})
        turns.append({"from": "gpt", "value": answer})
    return turns


def _pick(options: Sequence[Any], *key: Any) -> Any:
    return options[int(stable_hash(*key), 16) % len(options)]


def task_pairs(
    task: str, record: dict[str, Any], captions: Sequence[dict[str, Any]]
) -> tuple[list[tuple[str, str]], list[str], str | None]:
    """(question/answer pairs, caption ids used, skip reason) for one image and one task."""
    objects = record.get("objects") or []
    if task == "brief_caption":
        ranked = sorted(
            captions,
            key=lambda c: (
                CAPTION_PREFERENCE.index(c["strategy"]) if c["strategy"] in CAPTION_PREFERENCE else 99,
                c["caption_id"],
            ),
        )
        if not ranked:
            return [], [], "no_caption"
        best = [c for c in ranked if c["strategy"] == ranked[0]["strategy"]]
        chosen = _pick(best, record["record_id"], task)
        return [(_pick(BRIEF_QUESTIONS, record["record_id"]), chosen["text"])], [chosen["caption_id"]], None
    if task == "scene_classification":
        labels = record.get("labels") or []
        if not labels:
            return [], [], "no_labels"
        answer = ", ".join(label.replace("_", " ") for label in labels)
        return [("Which scene categories are present in this image? List them.", answer)], [], None
    if task == "object_count":
        if not objects:
            return [], [], "no_objects"
        tally = Counter(o["cls"] for o in objects)
        pairs = [
            (f"How many {plural(c, 2)} can you see in this image?", str(n)) for c, n in sorted(tally.items())
        ]
        return pairs, [], None
    if task == "grounding":
        width, height = record.get("width"), record.get("height")
        if not objects or not width or not height:
            return [], [], "no_objects"
        by_cls: dict[str, list[list[int]]] = defaultdict(list)
        for obj in objects:
            by_cls[obj["cls"]].append(_box(obj, width, height))
        pairs = [
            (
                f"Locate every {plural(c, 1)} in the image. Answer with boxes [x1, y1, x2, y2] on a 0-1000 "
                "scale.",
                ", ".join(json.dumps(b) for b in sorted(boxes)),
            )
            for c, boxes in sorted(by_cls.items())
        ]
        return pairs, [], None
    raise ValueError(f"unknown instruction task {task!r}")


def build_instructions(
    records: Sequence[dict[str, Any]], captions: Sequence[dict[str, Any]], tasks: Sequence[str]
) -> list[dict[str, Any]]:
    """One row per (image, task): a conversation, or status `skipped` with the reason."""
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in captions:
        if cap["status"] == "ok" and cap["strategy"] in CAPTION_PREFERENCE:
            by_image[cap["image_id"]].append(cap)
    rows = []
    for record in records:
        for task in tasks:
            pairs, caption_ids, skip = task_pairs(task, record, by_image.get(record["image_id"], []))
            conversations = json.dumps(_turns(pairs), ensure_ascii=False) if pairs else None
            rows.append(
                {
                    "instruction_id": stable_hash(
                        "instruction",
                        record["record_id"],
                        record["image_id"],
                        task,
                        PROMPT_VERSION,
                        conversations,
                    ),
                    "image_id": record["image_id"],
                    "record_id": record["record_id"],
                    "source": record["source"],
                    "year": record["year"],
                    "task": task,
                    "conversations": conversations,
                    "caption_ids": caption_ids,
                    "prompt_id": f"instruction_{task}.{PROMPT_VERSION}",
                    "status": "skipped" if skip else "ok",
                    "skip_reason": skip,
                }
            )
    return rows
