"""`multi_turn`: one conversation mixing the other families, where later turns refer to earlier ones.

The dialogue opens on the whole scene (a caption, else its labels, else its land cover), then
focuses on the most numerous object class (how many, then where "they" are), asks a deceptive
follow-up about a class the image lacks, what covers the ground around "them", and ends with a
reasoning question "based on what you have seen". Its phrasings are its own, so no (question,
answer) pair repeats a single-task conversation of the same image.
"""

from __future__ import annotations

from rs_assets.lib.captions.facts import join_words
from rs_assets.lib.instruction_sets.boxes import Boxes
from rs_assets.lib.instruction_sets.grounding import MAX_BOXES
from rs_assets.lib.instruction_sets.inputs import Answer, Pair, TaskInput, article, noun, there, where
from rs_assets.lib.instruction_sets.reasoning import reasoning_pairs
from rs_assets.lib.instruction_sets.vqa import absent_classes, dominant_answer

OPEN_CAPTION = (
    "What do we see in this image?",
    "Tell me briefly what this image shows.",
    "Can you give me a quick overview of this scene?",
)
OPEN_LABELS = (
    "What kind of scene is this?",
    "What type of place does this image show?",
    "What sort of landscape is this?",
)
OPEN_COVER = (
    "What covers most of this image?",
    "What is most of this scene made of?",
)
HOW_MANY = (
    "And how many {many} are in it?",
    "How many {many} do you count?",
    "How many {many} does it have?",
)
WHERE_BOXES = ("Where {are}? Give {their} bounding {box}.", "Can you point {them} out with {boxes}?")
WHERE_ROUGHLY = ("Where {are}, roughly?", "In which part of the image {are}?")
ABSENT_FOLLOW = ("Are there any {many} as well?", "And {a}? Is there one too?")
AROUND = ("What covers most of the ground around {them}?", "And what surrounds {them}?")
MIN_TURNS = 3


def _opener(inp: TaskInput) -> tuple[Pair, list[str]] | None:
    caption = inp.best_caption
    if caption:
        return (inp.choose(OPEN_CAPTION, "open"), caption["text"]), [caption["caption_id"]]
    if inp.ref_captions:
        return (inp.choose(OPEN_CAPTION, "open"), inp.choose(inp.ref_captions, "open", "ref")), []
    if inp.labels:
        labels = join_words([x.replace("_", " ") for x in inp.labels])
        return (inp.choose(OPEN_LABELS, "open"), f"It is a scene of {labels}."), []
    if inp.landcover:
        return (inp.choose(OPEN_COVER, "open"), dominant_answer(inp)), []
    return None


def _focus(inp: TaskInput) -> tuple[list[Pair], str | None]:
    """How many of the most numerous class, then where they are; and the pronoun for later turns."""
    if not inp.facts["objects"]:
        return [], None
    top = inp.facts["objects"][0]
    cls, n = top["cls"], top["count"]
    one = n == 1
    words = {
        "are": "is it" if one else "are they",
        "their": "its" if one else "their",
        "them": "it" if one else "them",
        "box": "box" if one else "boxes",
        "boxes": "a box" if one else "boxes",
    }
    pairs: list[Pair] = [
        (inp.choose(HOW_MANY, "how_many").format(many=noun(cls, 2)), there(cls, n).capitalize() + ".")
    ]
    placed = inp.placeable(MAX_BOXES).get(cls)
    if placed:
        pairs.append((inp.choose(WHERE_BOXES, "where").format(**words), (Boxes(tuple(placed)),)))
    else:
        cells = join_words([where(c) for c in top["positions"][:2]])
        answer = f"Mostly {cells}." if not one else f"{cells[0].upper()}{cells[1:]}."
        pairs.append((inp.choose(WHERE_ROUGHLY, "where").format(**words), answer))
    return pairs, words["them"]


def _absent(inp: TaskInput) -> Pair | None:
    candidates = [(k, c) for k, c in absent_classes(inp) if k == "object"]
    if not candidates:
        return None
    _, cls = inp.choose(candidates, "absent")
    question = inp.choose(ABSENT_FOLLOW, "absent").format(many=noun(cls, 2), a=article(noun(cls)))
    return question, f"No, no {noun(cls, 2)} are visible in this image."


def multi_turn(inp: TaskInput) -> Answer:
    opened = _opener(inp)
    if opened is None:
        return [], [], "too_little_for_dialogue"
    first, caption_ids = opened
    focus, them = _focus(inp)
    pairs: list[Pair] = [first, *focus]
    absent = _absent(inp)
    if absent:
        pairs.append(absent)
    if them and inp.landcover and first[1] != dominant_answer(inp):
        pairs.append((inp.choose(AROUND, "around").format(them=them), dominant_answer(inp)))
    reasons = reasoning_pairs(inp)
    if reasons:
        _, question, answer = reasons[0]
        pairs.append((f"Based on what you have seen, {question[0].lower()}{question[1:]}", answer))
    if len(pairs) < MIN_TURNS:
        return [], [], "too_little_for_dialogue"
    return pairs, caption_ids, None
