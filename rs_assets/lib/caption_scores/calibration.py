"""The score_calibration check over the `caption_calibration` view: automatic scores must not rank
captions against the human raters. Judged pairs: the `overall` selection score against every rubric,
and each judge signal against its own rubric; fewer than MIN_PAIRS captions rated is not yet evidence."""

from __future__ import annotations

from typing import Any

MIN_PAIRS = 5
JUDGED = {"judge_relevance": "relevance", "judge_hallucination": "hallucination", "judge_fluency": "fluency"}


def calibration_check(rows: list[dict[str, Any]], min_pairs: int = MIN_PAIRS) -> tuple[bool, dict[str, Any]]:
    """(passed, metadata): fails when a judged pair with enough ratings has a negative Spearman."""
    table = {f"{r['signal']}~{r['rubric']}": {"pairs": r["pairs"], "spearman": r["spearman"]} for r in rows}
    judged = [
        r
        for r in rows
        if r["pairs"] >= min_pairs and (r["signal"] == "overall" or JUDGED.get(r["signal"]) == r["rubric"])
    ]
    disagree = sorted(f"{r['signal']}~{r['rubric']}" for r in judged if (r["spearman"] or 0) < 0)
    return not disagree, {
        "rated_captions": max((r["pairs"] for r in rows), default=0),
        "judged_pairs": len(judged),
        "disagreeing": disagree or "none",
        "spearman": table or "no caption has both scores and human ratings yet",
    }
