"""Question-answer tasks over labels, objects and land cover: `scene_classification`, `vqa_presence`,
`vqa_absent` (deceptive questions about classes the image lacks), `vqa_count`, `vqa_landcover`.

Presence and absence questions share their phrasings, so only the image tells a model which answer is
right. Every answer is computed from the record: counts are the objects of that class, absent
classes are the source vocabulary minus everything the image's objects, labels and land cover name.
"""

from __future__ import annotations

from collections import Counter

from rs_assets.lib.captions.facts import join_words
from rs_assets.lib.instruction_sets.inputs import (
    Answer,
    Pair,
    TaskInput,
    article,
    noun,
    pct,
    related,
    shuffled,
    there,
    where,
)

SCENE_QUESTIONS = (
    "Which scene categories are present in this image? List them.",
    "Classify this remote sensing scene. Answer with its categories.",
    "What kinds of scene does this image show? List the categories.",
    "Name the land-use or scene classes of this image.",
)
OBJECT_QUESTIONS = (  # shared by presence and absence: the phrasing never gives the answer away
    "Is there {a} in this image?",
    "Are there any {many} in this image?",
    "Can you see {a} here?",
    "Does this scene contain {a}?",
)
LABEL_QUESTIONS = (
    "Does this image show {label}?",
    "Is {label} visible in this scene?",
    "Can {label} be seen in this image?",
)
COUNT_QUESTIONS = (
    "How many {many} can you see in this image?",
    "Count the {many} in this image.",
    "What is the number of {many} in this scene?",
    "How many {many} does this image contain?",
)
DOMINANT_QUESTIONS = (
    "What is the dominant land cover in this image?",
    "Which land-cover class covers most of this scene?",
    "What covers the largest part of the ground here?",
)
SHARE_QUESTIONS = (
    "About what share of the image is {cls}?",
    "What percentage of the scene is covered by {cls}?",
    "How much of this image is {cls}?",
)
COMPARE_QUESTIONS = (
    "Is there more {a} than {b} in this image?",
    "Does {a} cover more of the scene than {b}?",
    "Is {a} more widespread than {b} in this scene?",
)
MAX_PRESENCE = 3
MAX_ABSENT = 2
MIN_VISIBLE_PX = 4  # an object spanning fewer pixels is not asked about: "no" would mean "too small"


def _human(cls: str) -> str:
    return cls.replace("_", " ")


def object_question(inp: TaskInput, cls: str, *key: str) -> str:
    return inp.choose(OBJECT_QUESTIONS, *key, cls).format(a=article(noun(cls)), many=noun(cls, 2))


def label_question(inp: TaskInput, label: str, *key: str) -> str:
    return inp.choose(LABEL_QUESTIONS, *key, label).format(label=_human(label))


def scene_classification(inp: TaskInput) -> Answer:
    if not inp.labels:
        return [], [], "no_labels"
    answer = ", ".join(_human(label) for label in inp.labels)
    return [(inp.choose(SCENE_QUESTIONS, "scene_classification"), answer)], [], None


def presence_answer(inp: TaskInput, cls: str) -> str:
    summary = next(o for o in inp.facts["objects"] if o["cls"] == cls)
    cells = join_words([where(c) for c in summary["positions"][:2]])
    lead = "mostly " if summary["count"] > 1 else ""
    return f"Yes, {there(cls, summary['count'])} in this image, {lead}{cells}."


def vqa_presence(inp: TaskInput) -> Answer:
    """Yes-questions about up to three of the image's object classes and labels."""
    classes = sorted({str(o["cls"]) for o in inp.objects})
    labels = [x for x in inp.labels if not any(related(x, c) for c in classes)]
    if not classes and not labels:
        return [], [], "no_objects_or_labels"
    chosen = shuffled([("object", c) for c in classes] + [("label", x) for x in labels], inp.key, "presence")
    pairs: list[Pair] = []
    for kind, name in chosen[:MAX_PRESENCE]:
        if kind == "object":
            pairs.append((object_question(inp, name, "presence"), presence_answer(inp, name)))
        else:
            pairs.append((label_question(inp, name, "presence"), f"Yes, the image shows {_human(name)}."))
    return pairs, [], None


def present_names(inp: TaskInput) -> list[str]:
    """Everything the record says is in the image: object classes, labels, land-cover classes."""
    return [*(str(o["cls"]) for o in inp.objects), *inp.labels, *(c for c, _ in inp.landcover)]


def absent_classes(inp: TaskInput) -> list[tuple[str, str]]:
    """(kind, class) of the source vocabulary that nothing in the record names.

    Object classes qualify on any record where they would be large enough to see (a source that
    annotates a class annotates every visible instance); labels only on records without land-cover
    shares, since labels name the dominant covers, not every cover present (a `farmland` label missing
    from a scene with 8% cropland does not mean no farmland).
    """
    present = present_names(inp)
    kinds = [("object", c) for c in inp.vocabulary.objects if visible(inp, c)]
    if not inp.landcover:
        kinds += [("label", x) for x in inp.vocabulary.labels]
    seen: set[str] = set()
    out = []
    for kind, name in kinds:
        if name not in seen and not any(related(name, p) for p in present):
            seen.add(name)
            out.append((kind, name))
    return out


def visible(inp: TaskInput, cls: str) -> bool:
    """Whether the class's typical extent spans enough pixels at this image's GSD to be seen (unknown
    GSD or extent: assumed visible)."""
    extent, gsd = inp.vocabulary.extent(cls), inp.record.get("gsd_m")
    return extent is None or not gsd or extent / gsd >= MIN_VISIBLE_PX


def what_is_there(inp: TaskInput) -> str | None:
    """The 'instead' of a no: the image's objects, else its labels, else its dominant land cover."""
    counts = Counter(str(o["cls"]) for o in inp.objects)
    if counts:
        items = [f"{n} {noun(c, n)}" for c, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return f"It shows {join_words(items[:4])}."
    if inp.labels:
        return f"It shows {join_words([_human(x) for x in inp.labels])}."
    if inp.landcover:
        cls, share = inp.landcover[0]
        return f"It is mostly {_human(cls)} (about {pct(share)}% of the image)."
    return None


def absent_pair(inp: TaskInput, kind: str, name: str, instead: str, *key: str) -> Pair:
    if kind == "object":
        answer = f"No, no {noun(name, 2)} are visible in this image. {instead}"
        return object_question(inp, name, *key), answer
    return label_question(inp, name, *key), f"No, the image does not show {_human(name)}. {instead}"


def vqa_absent(inp: TaskInput) -> Answer:
    """Deceptive questions: classes of the source vocabulary the image lacks; the answer is no and says
    what is there instead."""
    candidates = absent_classes(inp)
    if not candidates:
        return [], [], "no_absent_class"
    instead = what_is_there(inp)
    if instead is None:
        return [], [], "nothing_known"
    chosen = shuffled(candidates, inp.key, "absent")[:MAX_ABSENT]
    return [absent_pair(inp, kind, name, instead, "presence") for kind, name in chosen], [], None


def vqa_count(inp: TaskInput) -> Answer:
    counts = Counter(str(o["cls"]) for o in inp.objects)
    if not counts:
        return [], [], "no_objects"
    pairs: list[Pair] = [
        (inp.choose(COUNT_QUESTIONS, "count", c).format(many=noun(c, 2)), str(n))
        for c, n in sorted(counts.items())
    ]
    return pairs, [], None


def dominant_answer(inp: TaskInput) -> str:
    cls, share = inp.landcover[0]
    return f"{_human(cls).capitalize()}, about {pct(share)}% of the image."


def vqa_landcover(inp: TaskInput) -> Answer:
    """The dominant cover, the share of another class, and a comparison of two classes."""
    cover = inp.landcover
    if not cover:
        return [], [], "no_landcover"
    pairs: list[Pair] = [(inp.choose(DOMINANT_QUESTIONS, "dominant"), dominant_answer(inp))]
    if len(cover) >= 2:
        cls, share = inp.choose(cover[1:], "share")
        question = inp.choose(SHARE_QUESTIONS, "share", cls).format(cls=_human(cls))
        pairs.append((question, f"About {pct(share)}%."))
        (a, sa), (b, sb) = shuffled(cover[:4], inp.key, "compare")[:2]
        question = inp.choose(COMPARE_QUESTIONS, "compare").format(a=_human(a), b=_human(b))
        if pct(sa) == pct(sb):
            answer = f"About the same: each covers about {pct(sa)}% of the image."
        else:
            verdict = "Yes" if sa > sb else "No"
            answer = f"{verdict}, {_human(a)} covers about {pct(sa)}% and {_human(b)} about {pct(sb)}%."
        pairs.append((question, answer))
    return pairs, [], None
