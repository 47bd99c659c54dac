"""Selection: hard failures (a hallucinated object, another language, a near-duplicate of a better
caption) never export; nor does a caption whose weakest `by` signal scores below `min_score` (one wrong
count or season is enough); of the rest at most `top_k` per image export, ranked by the mean of their
`by` scores. Every caption gets a decision, so nothing leaves the release unexplained."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rs_assets.lib.caption_scores.signal import Signal


@dataclass(frozen=True)
class Decision:
    caption_id: str
    mean: float  # mean of the computed `by` scores: ranks the eligible captions
    weakest: float  # lowest computed `by` score: compared with min_score
    rank: int | None  # among the image's eligible captions (1 = best); None when rejected
    decision: str  # `selected` or a reason (caption_scores vocab DECISIONS)


def by_scores(signals: dict[str, Signal], by: list[str]) -> list[float]:
    """The 0-1 scores of the `by` signals that were computed (skipped and failed ones left out)."""
    return [s.score for n, s in signals.items() if n in by and s.status == "ok" and s.score is not None]


def rejection(signals: dict[str, Signal], policy: Any, weakest: float) -> str | None:
    def ok(name: str) -> Signal | None:
        s = signals.get(name)
        return s if s is not None and s.status == "ok" else None

    if (h := ok("hallucinated_objects")) and (h.value or 0) > 0:
        return "hallucinated_object"
    lang = ok("language")
    if lang and lang.evidence != policy.language and (lang.value or 0) >= policy.min_language_confidence:
        return "wrong_language"
    if (d := ok("near_duplicate")) and (d.value or 0) >= policy.max_overlap:
        return "duplicate"
    return "low_score" if weakest < policy.min_score else None


def select_image(captions: list[tuple[str, dict[str, Signal]]], policy: Any) -> list[Decision]:
    """Decisions for ONE image's captions, given best-first by strategy preference (the tie-break)."""
    judged = []
    for i, (cid, signals) in enumerate(captions):
        scores = by_scores(signals, policy.by)
        mean = round(sum(scores) / len(scores), 4) if scores else 1.0
        weakest = round(min(scores), 4) if scores else 1.0
        judged.append((i, cid, mean, weakest, rejection(signals, policy, weakest)))
    eligible = sorted((j for j in judged if j[4] is None), key=lambda j: (-j[2], j[0]))
    rank = {j[1]: r for r, j in enumerate(eligible, start=1)}
    return [
        Decision(
            cid,
            mean,
            weakest,
            rank.get(cid),
            reason or ("selected" if rank[cid] <= policy.top_k else "below_top_k"),
        )
        for _, cid, mean, weakest, reason in judged
    ]
