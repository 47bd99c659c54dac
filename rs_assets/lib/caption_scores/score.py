"""`score_partition`: every signal for every candidate caption of one partition, then the selection.

Candidates are the ok final captions (strategies in preference order, never intermediate rows). Signal
families are pure functions of (caption text, record, facts); the judge is the one that calls a model,
once per image, through the same Runner as the captions.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from rs_assets.lib.caption_scores import alignment, judge
from rs_assets.lib.caption_scores.consistency import consistency_signals
from rs_assets.lib.caption_scores.duplicates import near_duplicates
from rs_assets.lib.caption_scores.language import MODEL as LANGUAGE_MODEL
from rs_assets.lib.caption_scores.language import language
from rs_assets.lib.caption_scores.select import select_image
from rs_assets.lib.caption_scores.signal import Signal
from rs_assets.lib.caption_scores.text_quality import text_signals
from rs_assets.lib.captions.engine import build_runner, check_prices, run_sync
from rs_assets.lib.captions.facts import record_facts
from rs_assets.lib.captions.strategies import PREFERENCE, preference_rank
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.runner import Runner
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.records import stable_hash
from rs_assets.lib.stages import from_rows


@dataclass
class ScoreResult:
    table: pa.Table
    stats: dict[str, Any]


def candidates(captions: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """ok final captions with text, per image, best first (strategy preference, then index, then id)."""
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in captions:
        if cap["status"] == "ok" and cap["strategy"] in PREFERENCE and (cap["text"] or "").strip():
            by_image[cap["image_id"]].append(cap)
    for caps in by_image.values():
        caps.sort(
            key=lambda c: (preference_rank(c["strategy"]), c.get("caption_index") or 0, c["caption_id"])
        )
    return dict(sorted(by_image.items()))


def _row(cap: dict[str, Any], sig: Signal, **extra: Any) -> dict[str, Any]:
    return {
        "score_id": stable_hash("caption_score", cap["caption_id"], sig.name),
        "caption_id": cap["caption_id"],
        "image_id": cap["image_id"],
        "record_id": cap["record_id"],
        "source": cap["source"],
        "year": cap["year"],
        "strategy": cap["strategy"],
        "signal": sig.name,
        "value": None if sig.value is None else float(sig.value),
        "score": sig.score,
        "evidence": sig.evidence,
        "status": sig.status,
        "detail": sig.detail,
        **extra,
    }


def local_signals(
    cap: dict[str, Any], rec: dict[str, Any], facts: dict[str, Any], policy: Any
) -> list[Signal]:
    text = cap["text"]
    return [*consistency_signals(text, rec, facts), language(text, policy.language), *text_signals(text)]


@dataclass
class _Judged:
    images: list[tuple[list[list[Signal]], dict[str, Any]]]  # per image: its signals, the call's columns
    summary: dict[str, Any]  # the runner's calls, tokens, $


async def _judge_all(
    runner: Runner, settings: LLMSettings, work: list[tuple[dict[str, Any], dict[str, Any], list[str]]]
) -> list[Any]:
    try:
        return await asyncio.gather(*(judge.judge_image(runner, settings, r, f, t) for r, f, t in work))
    finally:
        await runner.aclose()


def _judge(
    source: Any,
    settings: LLMSettings,
    lake: Lake,
    log: logging.Logger | None,
    per_image: dict[str, list[dict[str, Any]]],
    by_record: dict[str, dict[str, Any]],
    facts: dict[str, dict[str, Any]],
) -> _Judged | None:
    """The judge's ratings for every image (one call each, concurrently), or None when it is off."""
    if not source.judge or not per_image:
        return None
    check_prices(settings, [settings.vision_model])
    runner = build_runner(settings, lake, log, answer=judge.offline_answer)
    work = [
        (by_record[c[0]["record_id"]], facts[c[0]["record_id"]], [x["text"] for x in c])
        for c in per_image.values()
    ]
    images = []
    for (ratings, outcome), caps in zip(
        run_sync(_judge_all(runner, settings, work)), per_image.values(), strict=True
    ):
        cost = outcome.completion.cost_usd if outcome.completion else 0.0
        columns = {
            "model": outcome.request.model,
            "prompt_id": outcome.request.prompt_id,
            "request_hash": outcome.request.fingerprint,
            "cost_usd": cost / (len(caps) * len(judge.SIGNALS)),
        }
        images.append((ratings, columns))
    return _Judged(images, runner.summary())


def score_partition(
    records: list[dict[str, Any]],
    captions: list[dict[str, Any]],
    source: Any,
    lake: Lake,
    settings: LLMSettings,
    log: logging.Logger | None = None,
) -> ScoreResult:
    """caption_scores rows for one partition: `records` are its raw rows, `captions` its caption rows,
    `source` its config (`select` policy, `judge`). A caption whose record is missing raises: the two
    tables of one partition must agree."""
    by_record = {r["record_id"]: r for r in records}
    per_image = candidates(captions)
    missing = sorted({c["record_id"] for caps in per_image.values() for c in caps} - set(by_record))
    if missing:
        raise ValueError(f"captions name records missing from raw_scrape: {missing[:5]}")
    policy = source.select
    clip_problem = alignment.clip_problem()
    clip = alignment.load_clip() if clip_problem is None else None
    facts = {
        rid: record_facts(by_record[rid]) for rid in {c["record_id"] for v in per_image.values() for c in v}
    }
    judged = _judge(source, settings, lake, log, per_image, by_record, facts)
    rows: list[dict[str, Any]] = []
    for n, (image, caps) in enumerate(per_image.items()):
        rec = by_record[caps[0]["record_id"]]
        dups = near_duplicates(caps)
        thumb = lake.get_thumb(image) if clip is not None and lake.has_thumb(image) else None
        aligned = alignment.alignment(clip, clip_problem, thumb, [c["text"] for c in caps])
        ratings, judge_extra = judged.images[n] if judged else (judge.judge_disabled(len(caps)), {})
        signals_of = []
        for cap, clip_sig, judged_sigs in zip(caps, aligned, ratings, strict=True):
            local = local_signals(cap, rec, facts[cap["record_id"]], policy)
            sigs = {s.name: s for s in (*local, dups[cap["caption_id"]], clip_sig, *judged_sigs)}
            signals_of.append((cap["caption_id"], sigs))
            for s in sigs.values():
                extra = {"model": LANGUAGE_MODEL} if s.name == "language" and s.status == "ok" else {}
                rows.append(_row(cap, s, **(judge_extra if s.name in judge.SIGNALS else extra)))
        for cap, d in zip(caps, select_image(signals_of, policy), strict=True):
            rows.append(_row(cap, Signal("overall", d.mean, d.weakest), rank=d.rank, decision=d.decision))
    table = from_rows("caption_scores", rows)
    stats = {
        "images": len(per_image),
        "candidates": sum(len(v) for v in per_image.values()),
        "decisions": dict(sorted(Counter(r["decision"] for r in rows if r.get("decision")).items())),
        "skipped": dict(sorted(Counter(r["signal"] for r in rows if r["status"] == "skipped").items())),
        "judge": judged.summary if judged else "off",
    }
    return ScoreResult(table, stats)
