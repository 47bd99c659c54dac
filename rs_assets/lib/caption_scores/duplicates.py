"""Near-duplicate captions within one image: word-bigram Jaccard overlap with every better-ranked
caption of the same image (the first of two near-identical captions keeps its place)."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from rs_assets.lib.caption_scores.signal import Signal, words


def bigrams(text: str) -> frozenset[tuple[str, str]]:
    tokens = words(text)
    return frozenset(pairwise(tokens)) or frozenset((t, "") for t in tokens)


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_duplicates(captions: list[dict[str, Any]]) -> dict[str, Signal]:
    """{caption_id: signal} for the captions of ONE image, given best first; value = the highest
    overlap with an earlier caption, evidence = that caption's id."""
    out: dict[str, Signal] = {}
    seen: list[tuple[str, frozenset]] = []
    for cap in captions:
        grams = bigrams(cap["text"])
        best, best_id = 0.0, None
        for other_id, other in seen:
            overlap = jaccard(grams, other)
            if overlap > best:
                best, best_id = overlap, other_id
        out[cap["caption_id"]] = Signal("near_duplicate", round(best, 4), round(1 - best, 4), best_id)
        seen.append((cap["caption_id"], grams))
    return out
