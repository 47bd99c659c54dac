"""One signal row: the number, its 0-1 score (higher is better) and the phrase that earned it.

Every family module returns `Signal`s; the driver turns them into `caption_scores` rows, so a family
never deals with ids, partitions or the table contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)


@dataclass(frozen=True)
class Signal:
    name: str
    value: float | None  # the raw number (a count, a share, a confidence, a 1-5 rating)
    score: float | None  # normalised to 0-1, higher is better; what selection averages
    evidence: str | None = None  # the offending phrase, the detected language, the duplicated caption
    status: str = "ok"  # `ok`, `skipped` (with `detail`), or an LLM status for judge rows
    detail: str | None = None  # why skipped / the failure


def skipped(name: str, why: str) -> Signal:
    return Signal(name, None, None, status="skipped", detail=why)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words and digits kept whole: `sentinel-2`, `10`)."""
    return [w.lower() for w in _WORD.findall(text or "")]


def clean(problems: list[str]) -> float:
    """Score of a list of contradictions or boilerplate phrases: one is enough to fail (0), none is 1."""
    return 0.0 if problems else 1.0
