"""Fact consistency: what a caption states against what the record knows (objects, labels, date,
sensor, resolution). Each signal counts contradictions and quotes the offending phrases; a record that
knows nothing about a fact makes its signal `skipped` (nothing to contradict), never a pass.
"""

from __future__ import annotations

import calendar
import re
from functools import lru_cache
from typing import Any

from rs_assets.lib.caption_scores.signal import Signal, clean, skipped, words
from rs_assets.lib.captions.facts import resolution_class

# Object and scene classes a caption may name -> the words that name them (singular and plural).
CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "ship": ("ship", "ships", "vessel", "vessels", "boat", "boats"),
    "aircraft": ("aircraft", "airplane", "airplanes", "plane", "planes", "jet", "jets"),
    "building": ("building", "buildings", "house", "houses"),
    "storage_tank": ("storage tank", "storage tanks", "oil tank", "oil tanks", "tank", "tanks"),
    "vehicle": ("vehicle", "vehicles", "car", "cars", "truck", "trucks"),
    "center_pivot": ("center pivot", "center pivots", "centre pivot", "centre pivots"),
    "bridge": ("bridge", "bridges"),
    "harbor": ("harbor", "harbors", "harbour", "harbours", "port", "ports"),
    "airport": ("airport", "airports", "airfield", "airfields"),
    "runway": ("runway", "runways"),
    "tennis_court": ("tennis court", "tennis courts"),
    "baseball_field": ("baseball field", "baseball fields", "baseball diamond", "baseball diamonds"),
    "swimming_pool": ("swimming pool", "swimming pools"),
    "roundabout": ("roundabout", "roundabouts"),
    "helicopter": ("helicopter", "helicopters"),
    "wind_turbine": ("wind turbine", "wind turbines", "windmill", "windmills"),
    "stadium": ("stadium", "stadiums"),
    "container_crane": ("container crane", "container cranes", "crane", "cranes"),
}
_NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve"
NUMBER_WORDS = {w: i for i, w in enumerate(_NUMBERS.split(" "))}
NEGATIONS = {"no", "not", "without", "none", "absent", "never"}
SEASON_WORDS = {"winter": "winter", "summer": "summer", "spring": "spring", "autumn": "autumn"}
MONTHS = {calendar.month_name[m].lower(): m for m in range(1, 13)}
SENSOR_FAMILIES = {  # caption phrase -> family; the record's sensor must belong to the same family
    "sentinel-1": "sentinel-1",
    "sentinel-2": "sentinel-2",
    "landsat": "landsat",
    "worldview": "worldview",
    "geoeye": "geoeye",
    "quickbird": "quickbird",
    "pleiades": "pleiades",
    "planetscope": "planetscope",
    "modis": "modis",
    "gaofen": "gaofen",
}
_SENSOR = re.compile(r"\b(" + "|".join(re.escape(p) for p in SENSOR_FAMILIES) + r")\b")
RESOLUTION = re.compile(r"\b(very high|high|moderate|medium|low)[- ]resolution\b")
GSD = re.compile(r"\b(\d+(?:\.\d+)?)\s?(cm|m)\b(?:\s+(?:ground sampling distance|gsd|resolution|pixels?))")
_BY_FIRST: dict[str, list[tuple[tuple[str, ...], str]]] = {}
for _cls, _phrases in CLASS_WORDS.items():
    for _phrase in _phrases:
        _BY_FIRST.setdefault(_phrase.split()[0], []).append((tuple(_phrase.split()), _cls))
for _options in _BY_FIRST.values():
    _options.sort(key=lambda option: -len(option[0]))  # longest first: "storage tank" before "tank"


def _find_classes(tokens: list[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, phrase, class) of every class phrase, left to right, longest match first."""
    found, i = [], 0
    while i < len(tokens):
        for parts, cls in _BY_FIRST.get(tokens[i], ()):
            if tuple(tokens[i : i + len(parts)]) == parts:
                found.append((i, i + len(parts), " ".join(parts), cls))
                i += len(parts)
                break
        else:
            i += 1
    return found


def _negated(tokens: list[str], start: int) -> bool:
    return bool(NEGATIONS & set(tokens[max(0, start - 3) : start]))


@lru_cache(maxsize=65536)
def _attested(names: tuple[str, ...]) -> frozenset[str]:
    out: set[str] = set()
    for name in names:
        tokens = words(name.replace("_", " "))
        out |= {cls for _, _, _, cls in _find_classes(tokens)}
        out.add("_".join(tokens))
    return frozenset(out)


def known_classes(rec: dict[str, Any]) -> frozenset[str] | None:
    """Classes the record's objects, labels and land cover attest (None: the record annotates nothing)."""
    names = [o["cls"] for o in rec.get("objects") or []]
    names += list(rec.get("labels") or [])
    names += [d["cls"] for d in rec.get("landcover") or [] if d.get("share")]
    return _attested(tuple(sorted(set(names)))) if names else None


@lru_cache(maxsize=65536)
def _counts(classes: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in classes:
        for _, _, _, cls in _find_classes(words(name.replace("_", " "))) or [(0, 0, "", name)]:
            counts[cls] = counts.get(cls, 0) + 1
    return counts


def object_counts(rec: dict[str, Any]) -> dict[str, int]:
    return dict(_counts(tuple(sorted(o["cls"] for o in rec.get("objects") or []))))


def hallucinated_objects(text: str, rec: dict[str, Any]) -> Signal:
    """Classes the caption names (not negated) that nothing in the record attests."""
    known = known_classes(rec)
    if known is None:
        return skipped("hallucinated_objects", "the record has no objects, labels or land cover")
    tokens = words(text)
    absent = [p for s, _, p, c in _find_classes(tokens) if c not in known and not _negated(tokens, s)]
    absent = list(dict.fromkeys(absent))
    return Signal("hallucinated_objects", len(absent), 0.0 if absent else 1.0, "; ".join(absent) or None)


def count_mismatch(text: str, rec: dict[str, Any]) -> Signal:
    """`three ships` where the record annotates another number of ships (objects only)."""
    if not rec.get("objects"):
        return skipped("count_mismatch", "the record has no annotated objects")
    counts, tokens = object_counts(rec), words(text)
    wrong = []
    for start, _, phrase, cls in _find_classes(tokens):
        if cls not in counts:
            continue  # absent classes are hallucinated_objects, not a count
        for back in (1, 2, 3):  # the number may stand before one or two adjectives
            if start - back < 0:
                break
            tok = tokens[start - back]
            number = int(tok) if tok.isdigit() else NUMBER_WORDS.get(tok)
            if number is not None:
                if number != counts[cls]:
                    wrong.append(f"{tok} {phrase} (annotated: {counts[cls]})")
                break
    return Signal("count_mismatch", len(wrong), clean(wrong), "; ".join(wrong) or None)


def date_mismatch(text: str, rec: dict[str, Any], facts: dict[str, Any]) -> Signal:
    """A month or season the caption names that is not the acquisition's (hemisphere-aware)."""
    if facts.get("month") is None:
        return skipped("date_mismatch", "the record has no acquisition date")
    tokens = words(text)
    wrong = [t for t in tokens if t in MONTHS and MONTHS[t] != facts["month"]]
    wrong += [t for t in tokens if t in SEASON_WORDS and SEASON_WORDS[t] != facts["season"]]
    wrong = list(dict.fromkeys(wrong))
    evidence = f"{', '.join(wrong)} (acquired {facts['month_name']}, {facts['season']})" if wrong else None
    return Signal("date_mismatch", len(wrong), clean(wrong), evidence)


def sensor_mismatch(text: str, rec: dict[str, Any]) -> Signal:
    """A sensor family, a resolution class or a GSD the caption states that the metadata contradicts."""
    sensor, gsd = (rec.get("sensor") or "").lower(), rec.get("gsd_m")
    if not sensor and gsd is None:
        return skipped("sensor_mismatch", "the record has no sensor or ground sampling distance")
    low = " ".join((text or "").lower().split())
    wrong = []
    if sensor:
        named = list(dict.fromkeys(_SENSOR.findall(low)))
        wrong += [f"{p} (sensor: {rec['sensor']})" for p in named if p not in sensor.replace(" ", "-")]
    if gsd is not None:
        actual = resolution_class(gsd)
        for m in RESOLUTION.finditer(low):
            said = "moderate" if m.group(1) == "medium" else m.group(1)
            if said != (actual or "").lower():
                wrong.append(f"{m.group(0)} (gsd {gsd:g} m: {actual})")
        for m in GSD.finditer(low):
            metres = float(m.group(1)) / (100 if m.group(2) == "cm" else 1)
            if metres and not 1 / 1.5 <= metres / gsd <= 1.5:
                wrong.append(f"{m.group(0)} (gsd {gsd:g} m)")
    return Signal("sensor_mismatch", len(wrong), clean(wrong), "; ".join(wrong) or None)


def consistency_signals(text: str, rec: dict[str, Any], facts: dict[str, Any]) -> list[Signal]:
    return [
        hallucinated_objects(text, rec),
        count_mismatch(text, rec),
        date_mismatch(text, rec, facts),
        sensor_mismatch(text, rec),
    ]
