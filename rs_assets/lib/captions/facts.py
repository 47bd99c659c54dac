"""Rule facts of a record: the metadata every strategy grounds its text in (RS5M meta, MpGI relay, GAIA
context), computed once per record, JSON-able, and rendered as the same rule text for every prompt."""

from __future__ import annotations

import calendar
import json
from collections import Counter
from datetime import datetime
from functools import lru_cache
from typing import Any

import reverse_geocode

GRID_ROWS = ("top", "middle", "bottom")
GRID_COLS = ("left", "center", "right")
NORTH_SEASONS = {
    12: "winter",
    1: "winter",
    2: "winter",
    3: "spring",
    4: "spring",
    5: "spring",
    6: "summer",
    7: "summer",
    8: "summer",
    9: "autumn",
    10: "autumn",
    11: "autumn",
}
OPPOSITE = {"winter": "summer", "summer": "winter", "spring": "autumn", "autumn": "spring"}
REF_CAPTIONS_SHOWN, REF_QA_SHOWN, REF_CHARS = 3, 8, 200  # a dataset's own text relayed, bounded


@lru_cache(maxsize=4096)
def place(lat: float, lon: float) -> dict[str, str]:
    """Nearest known city and its country from the offline GeoNames table (no network, deterministic)."""
    hit = reverse_geocode.get((lat, lon))
    return {k: hit.get(k) or "" for k in ("city", "state", "country", "country_code")}


def season(month: int, lat: float | None) -> str:
    """Meteorological season; flipped south of the equator (July is winter in Argentina)."""
    name = NORTH_SEASONS[month]
    return OPPOSITE[name] if lat is not None and lat < 0 else name


def grid_position(x: float, y: float, width: float, height: float) -> str:
    """Cell of a 3x3 grid, RS5M style: `top left`, `top`, ..., `center`, ..., `bottom right`."""
    row = GRID_ROWS[min(2, max(0, int(3 * y / height)))]
    col = GRID_COLS[min(2, max(0, int(3 * x / width)))]
    if row == "middle":
        return "center" if col == "center" else col
    return row if col == "center" else f"{row} {col}"


def resolution_class(gsd_m: float | None) -> str | None:
    """GAIA's classes: Very High < 1 m <= High < 5 m <= Moderate <= 30 m < Low."""
    if gsd_m is None:
        return None
    if gsd_m < 1:
        return "Very High"
    if gsd_m < 5:
        return "High"
    return "Moderate" if gsd_m <= 30 else "Low"


def _box(obj: dict[str, Any]) -> tuple[float, float, float, float]:
    if "bbox" in obj:
        x1, y1, x2, y2 = obj["bbox"]
        return x1, y1, x2, y2
    return obj["x1"], obj["y1"], obj["x2"], obj["y2"]


def object_summary(objects: list[dict[str, Any]], width: int, height: int) -> list[dict[str, Any]]:
    """Per class: count and the grid cells holding most of them (most frequent first)."""
    by_class: dict[str, Counter[str]] = {}
    for obj in objects or []:
        x1, y1, x2, y2 = _box(obj)
        cell = grid_position((x1 + x2) / 2, (y1 + y2) / 2, width or 1, height or 1)
        by_class.setdefault(obj["cls"], Counter())[cell] += 1
    out = [
        {"cls": cls, "count": sum(cells.values()), "positions": [c for c, _ in cells.most_common(3)]}
        for cls, cells in by_class.items()
    ]
    return sorted(out, key=lambda o: (-o["count"], o["cls"]))


def _landcover(value: Any) -> list[dict[str, Any]]:
    items = value.items() if isinstance(value, dict) else ((d["cls"], d["share"]) for d in value or [])
    shares = [{"cls": str(c), "share": round(float(s), 3)} for c, s in items if s and float(s) > 0]
    return sorted(shares, key=lambda d: (-d["share"], d["cls"]))


def _clip(text: Any) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= REF_CHARS else text[: REF_CHARS - 3] + "..."


def _references(rec: dict[str, Any]) -> dict[str, list[Any]]:
    """The first of the dataset's own captions and QA (RSICD, RSVQA...), whitespace folded, clipped."""
    captions = [_clip(c) for c in rec.get("ref_captions") or [] if c and str(c).strip()]
    qa = [
        {"question": _clip(q["question"]), "answer": _clip(q["answer"])}
        for q in rec.get("ref_qa") or []
        if q.get("question") and q.get("answer") is not None
    ]
    return {"ref_captions": captions[:REF_CAPTIONS_SHOWN], "ref_qa": qa[:REF_QA_SHOWN]}


def record_facts(rec: dict[str, Any]) -> dict[str, Any]:
    """Everything known about a record that a caption may state, with None for the unknown."""
    lat, lon = rec.get("lat"), rec.get("lon")
    when = rec.get("captured_at")
    when = datetime.fromisoformat(when) if isinstance(when, str) else when
    cloud = rec.get("cloud_cover")
    width, height = int(rec.get("width") or 0), int(rec.get("height") or 0)
    return {
        "place": place(round(lat, 4), round(lon, 4)) if lat is not None and lon is not None else None,
        "lat": lat,
        "lon": lon,
        "year": when.year if when else rec.get("year"),
        "month": when.month if when else None,
        "month_name": calendar.month_name[when.month] if when else None,
        "season": season(when.month, lat) if when else None,
        "hemisphere": ("southern" if lat < 0 else "northern") if lat is not None else None,
        "sensor": rec.get("sensor") or None,
        "gsd_m": rec.get("gsd_m"),
        "resolution": resolution_class(rec.get("gsd_m")),
        "cloud_pct": None if cloud is None else round(cloud * 100 if cloud <= 1 else cloud),
        "landcover": _landcover(rec.get("landcover")),
        "objects": object_summary(rec.get("objects") or [], width, height),
        "labels": [str(x) for x in rec.get("labels") or []],
        "width": width,
        "height": height,
        **_references(rec),
    }


def _human(cls: str) -> str:
    return cls.replace("_", " ")


def plural(cls: str, count: int) -> str:
    word = _human(cls)
    if count == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def landcover_phrases(facts: dict[str, Any]) -> list[str]:
    return [f"{_human(d['cls'])} ({round(d['share'] * 100)}%)" for d in facts["landcover"]]


def object_phrases(facts: dict[str, Any]) -> list[str]:
    return [
        f"{o['count']} {plural(o['cls'], o['count'])} mostly at the {o['positions'][0]}"
        if o["count"] > 1
        else f"one {_human(o['cls'])} at the {o['positions'][0]}"
        for o in facts["objects"]
    ]


def join_words(items: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"


def place_phrase(facts: dict[str, Any]) -> str | None:
    p = facts["place"]
    return f"{p['city']}, {p['country']}" if p and p["city"] else (p["country"] if p else None)


def rule_text(facts: dict[str, Any]) -> str:
    """The facts as `Key: value` lines, the relay text every prompt receives (unknowns left out)."""
    lines = []
    if facts["place"]:
        lines.append(f"Location: near {place_phrase(facts)} (lat {facts['lat']:.4f}, lon {facts['lon']:.4f})")
    if facts["month_name"]:
        lines.append(
            f"Date: {facts['month_name']} {facts['year']} ({facts['season']}, "
            f"{facts['hemisphere'] or 'unknown'} hemisphere)"
        )
    if facts["sensor"]:
        lines.append(f"Sensor: {facts['sensor']}")
    if facts["gsd_m"] is not None:
        lines.append(f"Ground sampling distance: {facts['gsd_m']:g} m ({facts['resolution']} resolution)")
    if facts["cloud_pct"] is not None:
        lines.append(f"Cloud cover: {facts['cloud_pct']}%")
    if facts["landcover"]:
        lines.append(f"Land cover shares: {', '.join(landcover_phrases(facts))}")
    if facts["objects"]:
        lines.append(f"Objects (3x3 grid positions): {'; '.join(object_phrases(facts))}")
    if facts["labels"]:
        lines.append(f"Labels: {', '.join(facts['labels'])}")
    if facts["width"]:
        lines.append(f"Image size: {facts['width']}x{facts['height']} px")
    if facts["ref_captions"]:
        quoted = "; ".join(json.dumps(c, ensure_ascii=False) for c in facts["ref_captions"])
        lines.append(f"Captions from the source dataset: {quoted}")
    if facts["ref_qa"]:
        answers = "; ".join(f"{q['question']} {q['answer']}" for q in facts["ref_qa"])
        lines.append(f"Questions answered by the source dataset: {answers}")
    return "\n".join(lines) or "No metadata."
