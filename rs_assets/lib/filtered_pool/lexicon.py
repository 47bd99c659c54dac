"""The one RS lexicon and its matcher: pool relevance scores and the pairs keyword prefilter."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

# Default RS relevance lexicon: term -> weight in (0, 1). Terms with an upper-case letter match
# case-sensitively (acronyms that are ordinary words in lower case: SAR, ESA, GSD); plurals and
# separators are optional (see `lexicon_pattern`). The pairs prefilter skips exactly the texts this
# lexicon scores 0, and builds a source's own `keywords` with the same `lexicon_pattern`.
RS_LEXICON: dict[str, float] = {
    "remote sensing": 0.95,
    "remotely sensed": 0.9,
    "earth observation": 0.95,
    "satellite": 0.8,
    "satellite image": 0.95,
    "satellite imagery": 0.95,
    "aerial": 0.7,
    "aerial photo": 0.9,
    "aerial view": 0.9,
    "orthophoto": 0.95,
    "orthoimage": 0.95,
    "orthomosaic": 0.95,
    "orthophotograph": 0.95,
    "landsat": 0.95,
    "sentinel": 0.5,
    "sentinel 1": 0.95,
    "sentinel 2": 0.95,
    "modis": 0.95,
    "viirs": 0.9,
    "SAR": 0.6,
    "synthetic aperture radar": 0.95,
    "multispectral": 0.85,
    "hyperspectral": 0.85,
    "panchromatic": 0.85,
    "drone": 0.5,
    "uav": 0.7,
    "imagery": 0.4,
    "GSD": 0.7,
    "ground sampling distance": 0.95,
    "ndvi": 0.9,
    "worldview": 0.85,
    "quickbird": 0.95,
    "geoeye": 0.95,
    "ikonos": 0.95,
    "rapideye": 0.95,
    "naip": 0.9,
    "google earth": 0.7,
    "planetscope": 0.95,
    "pleiades": 0.7,
    "gaofen": 0.9,
    "radarsat": 0.95,
    "terrasar": 0.95,
    "copernicus": 0.5,
    "spaceborne": 0.9,
    "airborne": 0.6,
    "lidar": 0.5,
    "land cover": 0.7,
    "land use": 0.5,
    "false color": 0.6,
    "false colour": 0.6,
    "geotiff": 0.8,
    "georeferenced": 0.6,
    "bird's eye view": 0.5,
    "birds eye view": 0.5,
    "overhead view": 0.5,
    "top down view": 0.4,
    "from space": 0.6,
    "from orbit": 0.6,
    "earth observatory": 0.8,
    "ESA": 0.3,
    "swath": 0.5,
    "infrared": 0.3,
}


_NORMALISE = re.compile(r"[\s_-]+")


def lexicon_pattern(terms: Iterable[str]) -> re.Pattern[str]:
    """The one lexicon matcher (pool relevance and the pairs prefilter): each term as a whole word,
    optional plural "s" ("satellites", "Landsats"), the words of a multi-word or hyphenated term joined
    by any run of spaces, hyphens, underscores or nothing ("Sentinel-2", "sentinel2", "remote-sensing").
    Terms with an upper-case letter match case-sensitively (group `cased`: "SAR" but not "Sarah"), the
    others in any case (group `term`). The groups hold the match without its plural "s"."""

    def alternation(words: list[str]) -> str:
        split = (tuple(p for p in _NORMALISE.split(w) if p) for w in words)
        alts = {r"[\s_-]*".join(map(re.escape, parts)) for parts in split if parts}
        return "|".join(sorted(alts, key=lambda a: (-len(a), a)))

    terms = list(terms)
    lower = alternation([t for t in terms if t == t.lower()])
    cased = alternation([t for t in terms if t != t.lower()])
    groups = ([rf"(?i:(?P<term>{lower})s?)"] if lower else []) + ([rf"(?P<cased>{cased})s?"] if cased else [])
    if not groups:
        return re.compile(r"(?!)")  # no term: matches nothing
    return re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(groups) + r")(?![A-Za-z0-9])")


def _term_key(term: str, cased: bool) -> str:
    return _NORMALISE.sub("", term if cased else term.lower())


_WEIGHT = {_term_key(t, t != t.lower()): w for t, w in RS_LEXICON.items()}
_PATTERN = lexicon_pattern(RS_LEXICON)


def rs_text_score(text: str | None) -> float:
    """Lexicon RS relevance in [0, 1): noisy-or of the weights of the distinct terms found, so one
    strong term ("Landsat") or several weak ones ("drone" + "imagery") pass 0.5 and none gives 0.
    Zero exactly when `lexicon_pattern(RS_LEXICON)` finds nothing (the pairs prefilter relies on it)."""
    if not text:
        return 0.0
    found = {
        _term_key(m["cased"], True) if m["cased"] else _term_key(m["term"], False)
        for m in _PATTERN.finditer(text)
    }
    return round(1.0 - math.prod(1.0 - _WEIGHT[k] for k in found), 4)


def row_text(row: dict[str, Any]) -> str:
    """The text a record brings (title, alt text, body), distinct pieces joined."""
    parts = [p.strip() for p in (row.get("title"), row.get("alt_text"), row.get("text")) if p and p.strip()]
    return " ".join(dict.fromkeys(parts))
