"""Text-only quality: repetition, boilerplate and length (fast, model-free, language-agnostic)."""

from __future__ import annotations

import re
from collections import Counter

from rs_assets.lib.caption_scores.signal import Signal, clean, words

# Web and model boilerplate that says nothing about the image (lower case, matched on word boundaries).
BOILERPLATE = (
    "click here",
    "read more",
    "image credit",
    "photo credit",
    "all rights reserved",
    "copyright",
    "stock photo",
    "subscribe",
    "lorem ipsum",
    "as an ai",
    "i cannot",
    "i'm sorry",
    "this image shows an image",
    "no description available",
)
_BOILERPLATE = re.compile(r"\b(" + "|".join(re.escape(b) for b in BOILERPLATE) + r")\b")
MIN_WORDS, MAX_WORDS = 6, 120  # outside this range the length score falls off linearly / inversely


def repetition(text: str) -> Signal:
    """Share of word trigrams that repeat an earlier one ("a ship a ship a ship..." is near 1)."""
    grams = list(zip(*(words(text)[i:] for i in range(3)), strict=False))
    if not grams:
        return Signal("repetition", 0.0, 1.0)
    counts = Counter(grams)
    repeated = sum(n - 1 for n in counts.values())
    worst = max(counts, key=lambda g: counts[g])
    share = repeated / len(grams)
    return Signal("repetition", round(share, 4), round(1 - share, 4), " ".join(worst) if repeated else None)


def boilerplate(text: str) -> Signal:
    found = list(dict.fromkeys(m.group(1) for m in _BOILERPLATE.finditer((text or "").lower())))
    return Signal("boilerplate", len(found), clean(found), "; ".join(found) or None)


def length(text: str) -> Signal:
    n = len(words(text))
    score = min(1.0, n / MIN_WORDS) if n < MIN_WORDS else min(1.0, MAX_WORDS / n)
    return Signal("length", n, round(score, 4))


def text_signals(text: str) -> list[Signal]:
    return [repetition(text), boilerplate(text), length(text)]
