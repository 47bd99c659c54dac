"""`caption_partition`: every strategy for every canonical image of one partition, as caption rows.

Meta captions are computed inline; model strategies run as one asyncio pipeline per (image, strategy)
through a shared Runner (response store, budget, rate limits), so the slowest call, not their sum,
bounds a partition. Every (image, strategy) ends with rows: captions, or one failure row with a status.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections import Counter
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import pyarrow as pa

from rs_assets.lib.captions import offline
from rs_assets.lib.captions.context import Context
from rs_assets.lib.captions.facts import record_facts
from rs_assets.lib.captions.strategies import MODEL_STRATEGIES, STRATEGIES
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.cache import ResponseStore
from rs_assets.lib.llm.cost import by_model
from rs_assets.lib.llm.local import Answerer, OfflineBackend
from rs_assets.lib.llm.redact import key_redactor
from rs_assets.lib.llm.runner import Limits, Runner
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.stages import from_rows

MAX_BATCH_ROUNDS = 4  # deepest pipeline (summary -> vision, perspectives -> integrate) plus one spare
NOT_FAILED = ("ok", "dry_run", "no_metadata")  # statuses the `failed` stat does not count
T = TypeVar("T")


@dataclass
class CaptionResult:
    table: pa.Table  # the captions stage schema (contract + extra)
    stats: dict[str, Any]  # flat numbers for Dagster metadata


def paid(settings: LLMSettings) -> bool:
    """Whether requests reach a provider that bills them (not the offline backend, not a dry run)."""
    return settings.backend != "local" and not settings.dry_run


def check_prices(settings: LLMSettings, models: Iterable[str]) -> None:
    """With a budget set, every model a paid stage calls must have a price; an unpriced model would
    reserve and count $0, so the cap could not hold. Raises before any request is sent."""
    if settings.budget_usd is None or not paid(settings):
        return
    unpriced = sorted(m for m in set(models) if by_model(settings.prices, m) is None)
    if unpriced:
        raise ValueError(
            f"RS_ASSETS_LLM_BUDGET_USD is set but no price is known for model(s) {', '.join(unpriced)}: "
            "the budget cannot be enforced. Add them to RS_ASSETS_LLM_PRICES, e.g. "
            f"RS_ASSETS_LLM_PRICES='{{\"{unpriced[0]}\": [input, cached_input, output]}}' (USD per 1M tokens)"
        )


def check_strategies(strategies: list[str], settings: LLMSettings) -> None:
    """Known strategies, and priced models when a budget is set: raises before any request is sent."""
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"unknown caption strategies: {unknown}")
    if set(strategies) & set(MODEL_STRATEGIES):
        check_prices(settings, [settings.vision_model, settings.text_model])


def build_runner(
    settings: LLMSettings,
    lake: Lake,
    log: logging.Logger | None,
    answer: Answerer = offline.answer,
    limits: Limits | None = None,
) -> Runner:
    """The Runner every LLM stage uses; `answer` is what the offline backend (and dry-run stand-ins)
    reply with for that stage's requests, `limits` the budget and pacing shared with other workers."""
    offline_backend = OfflineBackend(answer)
    store = ResponseStore(lake, settings.cache_prefix)
    redact = key_redactor(os.environ.get("OPENAI_API_KEY"))
    if not paid(settings):
        return Runner(
            offline_backend, store, settings, offline=offline_backend, log=log, redact=redact, limits=limits
        )
    # the SDK is only imported when money can be spent
    from rs_assets.lib.llm.batch import BatchBackend
    from rs_assets.lib.llm.client import OpenAIBackend, client_from_env

    client = client_from_env(settings)
    batch = BatchBackend(client, lake, settings, redact, log) if settings.batch else None
    return Runner(
        OpenAIBackend(client, lake, redact),
        store,
        settings,
        offline=offline_backend,
        batch_backend=batch,
        log=log,
        redact=redact,
        limits=limits,
    )


async def _caption_partition(
    records: list[dict[str, Any]],
    strategies: list[str],
    lake: Lake,
    settings: LLMSettings,
    log: logging.Logger | None,
    limits: Limits | None,
) -> CaptionResult:
    runner = build_runner(settings, lake, log, limits=limits)
    batch = settings.batch if runner.batch_backend else frozenset()
    try:
        rows = await _caption_rows(records, strategies, Context(runner, settings, batch))
    finally:
        await runner.aclose()
    table = from_rows("captions", rows)
    return CaptionResult(table, _stats(rows, runner, settings))


async def _caption_rows(
    records: list[dict[str, Any]],
    strategies: list[str],
    ctx: Context,
) -> list[dict[str, Any]]:
    batcher = ctx.runner.batch_backend
    facts = [record_facts(rec) for rec in records]
    rows: list[dict[str, Any]] = []
    jobs = [(i, s) for i in range(len(records)) for s in strategies]
    done: dict[tuple[int, str], list[dict[str, Any]]] = {}
    # Batch API strategies advance one stage per round: collect, flush, rerun (earlier stages now answered).
    for _ in range(MAX_BATCH_ROUNDS):
        produced = await asyncio.gather(*(STRATEGIES[s].pipeline(ctx, records[i], facts[i]) for i, s in jobs))
        done.update(zip(jobs, produced, strict=True))
        jobs = [
            job for job, out in zip(jobs, produced, strict=True) if any(r["status"] == "pending" for r in out)
        ]
        if not jobs or batcher is None or not await batcher.flush():
            break
    for produced in done.values():
        rows += produced
    return rows


def _stats(rows: list[dict[str, Any]], runner: Runner, settings: LLMSettings) -> dict[str, Any]:
    return {**row_stats(rows, settings), **runner.summary()}


def row_stats(rows: list[dict[str, Any]], settings: LLMSettings) -> dict[str, Any]:
    """The numbers a partition's caption rows tell (a sharded run counts them on the assembled rows)."""
    statuses = Counter(r["status"] for r in rows)
    return {
        "backend": settings.backend,
        "dry_run": settings.dry_run,
        "rows": len(rows),
        "ok_rows": statuses["ok"],
        "failed": sum(n for s, n in statuses.items() if s not in NOT_FAILED),
        "budget_exhausted_rows": statuses["budget_exhausted"],
        **{f"status_{s}": n for s, n in sorted(statuses.items())},
    }


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, or in a helper thread when the caller already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def caption_partition(
    records: list[dict],
    strategies: list[str],
    lake: Lake,
    settings: LLMSettings,
    log: logging.Logger | None = None,
    limits: Limits | None = None,
) -> CaptionResult:
    """Caption rows for one partition's canonical images under `strategies` (see `strategies.py`).

    Re-running a finished partition sends no requests (validated answers are in the response store);
    failures are rows with a status and are retried on the next run. Raises ValueError for unknown
    strategies, and for unpriced models when a budget is set (see `check_prices`). `limits`: the
    budget and pacing of a sharded run (`distributed.SharedLimits`), else this call's own.
    """
    check_strategies(strategies, settings)
    return run_sync(_caption_partition(records, list(strategies), lake, settings, log, limits))
