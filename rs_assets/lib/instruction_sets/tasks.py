"""The instruction task registry: each task turns one record (and its captions) into QA pairs.

A task answers from the record only (labels, objects, captions); with nothing to ground it, it
returns a skip reason instead of inventing an answer. A new task is one entry here plus its function.
Boxes are integers on a 0-1000 scale `[x1, y1, x2, y2]` relative to the image (DESIGN 11).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rs_assets.lib.captions.facts import plural
from rs_assets.lib.captions.strategies import preference_rank
from rs_assets.lib.instruction_sets.legacy import legacy_caption, legacy_vqa
from rs_assets.lib.records import stable_hash

Pairs = list[tuple[str, str]]
Answer = tuple[Pairs, list[str], str | None]  # (question/answer pairs, caption ids used, skip reason)
TaskFn = Callable[[dict[str, Any], Sequence[dict[str, Any]]], Answer]

BRIEF_QUESTIONS = (
    "Describe this remote sensing image briefly.",
    "Give a short caption for this aerial/satellite scene.",
    "What does this overhead image show? Answer in one or two sentences.",
)


def pick(options: Sequence[Any], *key: Any) -> Any:
    """A deterministic choice per key, so phrasings vary across records but never across runs."""
    return options[int(stable_hash(*key), 16) % len(options)]


def box_1000(obj: dict[str, Any], width: int, height: int) -> list[int]:
    def scale(v: float, size: int) -> int:
        return max(0, min(1000, round(1000 * v / size)))

    return [
        scale(obj["x1"], width),
        scale(obj["y1"], height),
        scale(obj["x2"], width),
        scale(obj["y2"], height),
    ]


def brief_caption(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    ranked = sorted(captions, key=lambda c: (preference_rank(c["strategy"]), c["caption_id"]))
    if not ranked:
        return [], [], "no_caption"
    best = [c for c in ranked if c["strategy"] == ranked[0]["strategy"]]
    chosen = pick(best, record["record_id"], "brief_caption")
    return [(pick(BRIEF_QUESTIONS, record["record_id"]), chosen["text"])], [chosen["caption_id"]], None


def scene_classification(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    labels = record.get("labels") or []
    if not labels:
        return [], [], "no_labels"
    answer = ", ".join(label.replace("_", " ") for label in labels)
    return [("Which scene categories are present in this image? List them.", answer)], [], None


def object_count(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    objects = record.get("objects") or []
    if not objects:
        return [], [], "no_objects"
    tally = Counter(o["cls"] for o in objects)
    pairs = [
        (f"How many {plural(c, 2)} can you see in this image?", str(n)) for c, n in sorted(tally.items())
    ]
    return pairs, [], None


def grounding(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    objects = record.get("objects") or []
    width, height = record.get("width"), record.get("height")
    if not objects or not width or not height:
        return [], [], "no_objects"
    by_cls: dict[str, list[list[int]]] = defaultdict(list)
    for obj in objects:
        by_cls[obj["cls"]].append(box_1000(obj, width, height))
    pairs = [
        (
            f"Locate every {plural(c, 1)} in the image. Answer with boxes [x1, y1, x2, y2] on a 0-1000 "
            "scale.",
            ", ".join(json.dumps(b) for b in sorted(boxes)),
        )
        for c, boxes in sorted(by_cls.items())
    ]
    return pairs, [], None


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    answer: TaskFn
    version: str = "v1"  # part of the instruction id and prompt id: bump when the output changes

    @property
    def prompt_id(self) -> str:
        return f"instruction_{self.name}.{self.version}"


_ORDER = (
    Task("brief_caption", "one short caption: the best caption by strategy preference", brief_caption),
    Task("scene_classification", "scene categories from the record's labels", scene_classification),
    Task("object_count", "how many objects of each class", object_count),
    Task("grounding", "phrase -> boxes on a 0-1000 scale", grounding),
    Task("legacy_caption", "one of the dataset's own captions (ref_captions), restated", legacy_caption),
    Task("legacy_vqa", "the dataset's own QA (ref_qa) as one multi-turn conversation", legacy_vqa),
)
TASKS: dict[str, Task] = {t.name: t for t in _ORDER}
InstructionTask = Literal[tuple(TASKS)]  # type: ignore[valid-type]  # the sources YAML `instructions:` items
SKIP_REASONS: dict[str, str] = {
    "no_caption": "no ok final caption for the image",
    "no_labels": "the record has no labels",
    "no_objects": "the record has no objects (or no image size)",
    "no_ref_captions": "the record has no captions of its own dataset (ref_captions)",
    "no_ref_qa": "the record has no question-answer pairs of its own dataset (ref_qa)",
}
