"""Offline answers for the local backend and dry-run stand-ins: deterministic, shaped exactly like a
model's answer (same parsers validate them). Captions are derived from the rule facts only, never from
the article, title, alt text or credits: untrusted text is never copied into a caption. (The extractive
GAIA summary only feeds the vision request, whose offline answer does not read it.)"""

from __future__ import annotations

import json
import re
from typing import Any

from rs_assets.lib.captions.facts import join_words, landcover_phrases, object_phrases, place_phrase, plural
from rs_assets.lib.llm.request import LLMRequest

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _sentences(text: str, limit: int) -> str:
    return " ".join(_SENTENCE.split(text.strip())[:limit])


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def scene(f: dict[str, Any]) -> str:
    res = f"{f['resolution'].lower()}-resolution " if f["resolution"] else ""
    where = place_phrase(f)
    return f"a {res}{f['sensor'] or 'overhead'} image" + (f" near {where}" if where else "")


def land_cover(f: dict[str, Any]) -> str:
    shares = landcover_phrases(f)
    if not shares:
        return "The land cover cannot be determined from the metadata."
    if len(shares) == 1:
        return f"The scene is covered by {shares[0]}."
    return f"The scene is dominated by {shares[0]}, with {join_words(shares[1:])}."


def objects(f: dict[str, Any]) -> str:
    phrases = object_phrases(f)
    return f"It contains {join_words(phrases)}." if phrases else "No distinct objects are annotated."


def layout(f: dict[str, Any]) -> str:
    parts = [
        f"{plural(o['cls'], o['count'])} concentrate at the {join_words(o['positions'])}"
        if o["count"] > 1
        else f"the {o['cls'].replace('_', ' ')} sits at the {o['positions'][0]}"
        for o in f["objects"][:3]
    ]
    if f["landcover"]:
        parts.append(f"{f['landcover'][0]['cls'].replace('_', ' ')} forms the background of the scene")
    if not parts:
        return "The layout is uniform."
    text = join_words(parts)
    return text[:1].upper() + text[1:] + "."


def conditions(f: dict[str, Any]) -> str:
    bits = []
    if f["month_name"]:
        bits.append(f"It was captured in {f['season']} ({f['month_name']} {f['year']})")
    if f["cloud_pct"] is not None:
        bits.append(f"with {f['cloud_pct']}% cloud cover")
    if f["sensor"]:
        gsd = f" at {f['gsd_m']:g} m ground sampling distance" if f["gsd_m"] is not None else ""
        bits.append(f"by {f['sensor']}{gsd}")
    return (" ".join(bits) + ".") if bits else "The acquisition conditions are unknown."


PERSPECTIVES = {"land_cover": land_cover, "objects": objects, "layout": layout, "conditions": conditions}


def gaia_answer(ctx: dict[str, Any]) -> dict[str, Any]:
    f, prefix = ctx["facts"], ctx["prefix"]
    tags = list(
        dict.fromkeys(
            [
                *f["labels"],
                *(d["cls"].replace("_", " ") for d in f["landcover"]),
                "remote sensing",
                "earth observation",
                "land surface",
            ]
        )
    )[:3]
    bodies = [
        f"{scene(f)}. {land_cover(f)}",
        f"an overhead view showing {join_words(object_phrases(f)) or 'open land without distinct objects'}.",
        f"{scene(f)}. {conditions(f)}",
        f"a view where {_lower_first(layout(f))}",
        f"{join_words(f['labels']) or 'the land surface'} seen from above. {layout(f)}",
    ]
    sensor = f["sensor"]
    return {
        "tags": tags,
        "location": place_phrase(f) or "unknown",
        "modality": ["multispectral" if sensor and sensor.startswith(("Sentinel", "Landsat")) else "optical"],
        "satellite": [sensor.split()[0]] if sensor and "aerial" not in sensor.lower() else [],
        "sensor": [sensor] if sensor else [],
        "resolution": f["resolution"] or "Moderate",
        "is_remote_sensing": True,
        "is_chart": False,
        "captions": [f"{prefix} {b[:1].lower() + b[1:]}" for b in bodies],
    }


def integrate(ctx: dict[str, Any]) -> dict[str, Any]:
    """Caption i joins the first sentences of two perspectives; pairs rotate so captions differ."""
    texts, count = list(ctx["perspectives"].values()), ctx["count"]
    k = len(texts)
    pairs = [dict.fromkeys((i % k, (i + 1 + i // k) % k)) for i in range(count)]
    return {"captions": [" ".join(_sentences(texts[j], 1) for j in pair) for pair in pairs]}


def answer(request: LLMRequest) -> str:
    """What the local backend replies to a caption request (dispatch on the task the request carries)."""
    ctx = request.context
    task = ctx["task"]
    if task == "gaia_summary":
        return _sentences(ctx["text"], 3)
    if task == "gaia_vision":
        return json.dumps(gaia_answer(ctx))
    if task == "mpgi_perspective":
        return PERSPECTIVES[ctx["perspective"]](ctx["facts"])
    if task == "mpgi_integrate":
        return json.dumps(integrate(ctx))
    raise ValueError(f"no offline answer for task {task!r}")
