"""Box tasks: `grounding` (phrase -> every box of a class; an RSVG referring description -> its box)
and `region_caption` (box -> what is there).

Boxes are the objects' own boxes (`boxes.Boxes`, pixels), written in the target's convention when the
conversation is rendered. A class is asked about only if every one of its objects has a usable box (so
"every ship" is every ship), a description or box only if it is unique in the image (so the answer is
the one object it names).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rs_assets.lib.instruction_sets.boxes import Boxes, Region, Text
from rs_assets.lib.instruction_sets.inputs import (
    Answer,
    Pair,
    TaskInput,
    article,
    noun,
    region_cell,
    shuffled,
    where,
)

CLASS_QUESTIONS = (
    "Locate every {one} in the image.",
    "Where are the {many} in this image? Give their bounding boxes.",
    "Find all {many} and give their boxes.",
    "Give the bounding box of each {one} in this scene.",
)
REFER_QUESTIONS = (
    "Where is {what}?",
    "Give the bounding box of {what}.",
    "Locate {what} in the image.",
)
REGION_QUESTIONS = (
    "What is in the region {box}?",
    "Describe the object at {box}.",
    "What does the area {box} contain?",
    "Identify the object in {box}.",
)
MAX_BOXES = 30  # a class with more instances is not asked about (an answer lists every box)
MAX_CLASSES = 6
MAX_REFERRING = 4
MAX_REGIONS = 3


def description(obj: dict[str, Any]) -> str | None:
    """The object's referring description as a phrase (`The ship on the left.` -> `the ship on the left`)."""
    text = (obj.get("description") or "").strip().rstrip(".").strip()
    if not text:
        return None
    return text[0].lower() + text[1:] if text[1:2].islower() else text


def referring(inp: TaskInput) -> list[tuple[str, Region]]:
    """(description, box) of objects whose description is unique in the image and whose box is usable."""
    texts = [description(o) for o in inp.objects]
    seen = Counter(texts)
    return [
        (text, region)
        for text, region in zip(texts, inp.regions, strict=True)
        if text and region and seen[text] == 1
    ]


def region_question(inp: TaskInput, region: Region, *key: Any) -> Text:
    head, tail = inp.choose(REGION_QUESTIONS, *key).split("{box}")
    return (head, Boxes((region,)), tail)


def grounding(inp: TaskInput) -> Answer:
    if not inp.objects:
        return [], [], "no_objects"
    classes = inp.placeable(MAX_BOXES)
    refs = referring(inp)
    if not classes and not refs:
        return [], [], "no_usable_boxes"
    pairs: list[Pair] = []
    for cls in sorted(shuffled(classes, inp.key, "grounding")[:MAX_CLASSES]):
        question = inp.choose(CLASS_QUESTIONS, "grounding", cls).format(one=noun(cls), many=noun(cls, 2))
        pairs.append((question, (Boxes(tuple(classes[cls])),)))
    for text, region in shuffled(refs, inp.key, "referring")[:MAX_REFERRING]:
        pairs.append((inp.choose(REFER_QUESTIONS, "referring", text).format(what=text), (Boxes((region,)),)))
    return pairs, [], None


def region_phrase(inp: TaskInput, obj: dict[str, Any], region: Region) -> str:
    text = description(obj)
    if text:
        return text[0].upper() + text[1:] + "."
    cell = where(region_cell(region, inp.width, inp.height))
    return f"{article(noun(str(obj['cls']))).capitalize()} {cell} of the image."


def region_caption(inp: TaskInput) -> Answer:
    if not inp.objects:
        return [], [], "no_objects"
    placed = [(i, r) for i, r in enumerate(inp.regions) if r is not None]
    per_box = Counter((r.x1, r.y1, r.x2, r.y2) for _, r in placed)
    usable = [(i, r) for i, r in placed if per_box[r.x1, r.y1, r.x2, r.y2] == 1]  # one object per box
    if not usable:
        return [], [], "no_usable_boxes"
    pairs: list[Pair] = [
        (region_question(inp, region, "region_caption", i), region_phrase(inp, inp.objects[i], region))
        for i, region in sorted(shuffled(usable, inp.key, "region_caption")[:MAX_REGIONS])
    ]
    return pairs, [], None
