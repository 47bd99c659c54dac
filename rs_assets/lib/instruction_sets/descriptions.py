"""Description tasks: `brief_caption` (one short caption) and `detailed_description` (RS-GPT4V's
hierarchical description: a local sentence per salient object class and land-cover region, then a
global integration with labels, place, date, sensor, footprint and the best caption)."""

from __future__ import annotations

from typing import Any

from rs_assets.lib.captions.facts import join_words, place_phrase
from rs_assets.lib.instruction_sets.inputs import Answer, TaskInput, km, noun, tropical, where

BRIEF_QUESTIONS = (
    "Describe this remote sensing image briefly.",
    "Give a short caption for this aerial/satellite scene.",
    "What does this overhead image show? Answer in one or two sentences.",
    "Summarise this satellite image in a sentence.",
    "Write a one-line caption for this scene.",
)
DETAILED_QUESTIONS = (
    "Describe this image in detail: first its individual objects and regions, then the scene as a whole.",
    "Give a detailed description of this remote sensing image, from local details to the overall scene.",
    "What can you see in this image? Describe each notable element, then summarise the whole scene.",
    "Provide a thorough, hierarchical description of this aerial scene.",
)
MIN_DETAILED_WORDS = 60
MAX_LOCAL_CLASSES = 4


def brief_caption(inp: TaskInput) -> Answer:
    """The best caption by strategy preference, else one of the dataset's own captions (RSICD...):
    another one than `legacy_caption` restates when the record has several."""
    question = inp.choose(BRIEF_QUESTIONS, "brief_caption")
    if inp.best_caption:
        return [(question, inp.best_caption["text"])], [inp.best_caption["caption_id"]], None
    refs = inp.ref_captions
    if not refs:
        return [], [], "no_caption"
    others = [r for r in refs if r != inp.legacy_ref] or refs
    return [(question, inp.choose(others, "brief_ref"))], [], None


def _object_sentence(inp: TaskInput, summary: dict[str, Any]) -> str:
    cls, n = summary["cls"], summary["count"]
    places = join_words([where(c) for c in summary["positions"][:2]])
    text = (
        f"A single {noun(cls)} sits {places}." if n == 1 else f"{n} {noun(cls, n)} appear, mostly {places}."
    )
    described = sorted(
        o["description"].strip().rstrip(".")
        for o in inp.objects
        if o["cls"] == cls and (o.get("description") or "").strip()
    )
    if described:
        text += f' {"It" if n == 1 else "One of them"} is described as "{described[0]}".'
    return text


def local_sentences(inp: TaskInput) -> list[str]:
    """One sentence per salient object class, one for land cover, one for clouds."""
    out = [_object_sentence(inp, o) for o in inp.facts["objects"][:MAX_LOCAL_CLASSES]]
    cover = [(c.replace("_", " "), round(s * 100)) for c, s in inp.landcover if s >= 0.01][:4]
    if cover:
        (first, share), rest = cover[0], cover[1:]
        head = f"{first.capitalize()} covers about {share}% of the image"
        out.append(join_words([head, *(f"{c} {p}%" for c, p in rest)]) + ".")
    cloud = inp.facts["cloud_pct"]
    if cloud is not None and cloud >= 5:
        out.append(f"Clouds cover about {cloud}% of the scene and hide the ground beneath them.")
    return out


def global_sentences(inp: TaskInput) -> tuple[list[str], list[str]]:
    """The integration: what the scene is, where, when and by what; its footprint; the best caption."""
    f = inp.facts
    labels = [x.replace("_", " ") for x in inp.labels]
    if labels:
        head = f"Overall, this is a scene of {join_words(labels)}"
    elif inp.landcover:
        head = f"Overall, the scene is dominated by {inp.landcover[0][0].replace('_', ' ')}"
    else:
        head = f"Overall, the scene is organised around its {noun(f['objects'][0]['cls'], 2)}"
    if f["place"]:
        head += f" near {place_phrase(f)}"
    if f["sensor"]:
        head += f", captured by {f['sensor']}"
    if f["gsd_m"] is not None:
        head += f" at {f['gsd_m']:g} m ground sampling distance ({f['resolution']} resolution)"
    if f["month_name"]:
        head += f" in {f['month_name']} {f['year']}"
        if f["hemisphere"] and not tropical(inp):
            head += f" ({f['season']} in the {f['hemisphere']} hemisphere)"
    out = [head + "."]
    if f["gsd_m"] and inp.width and inp.height:
        out.append(
            f"The image spans about {km(inp.width * f['gsd_m'])} by {km(inp.height * f['gsd_m'])} "
            "on the ground."
        )
    if inp.best_caption:
        out.append(f"Summary: {inp.best_caption['text']}")
        return out, [inp.best_caption["caption_id"]]
    return out, []


def detailed_description(inp: TaskInput) -> Answer:
    local = local_sentences(inp)
    if not local:
        return [], [], "too_little_to_describe"
    overall, caption_ids = global_sentences(inp)
    text = " ".join(local) + "\n\n" + " ".join(overall)
    if len(text.split()) < MIN_DETAILED_WORDS:
        return [], [], "too_little_to_describe"
    return [(inp.choose(DETAILED_QUESTIONS, "detailed_description"), text)], caption_ids, None
