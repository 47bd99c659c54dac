"""One request from fingerprint to Outcome: response store, budget, rate limits, retries, validation.

Every backend (OpenAI, offline templates, Batch API) sits behind the same `Backend.complete`, so the
exactly-once, budget and validation rules are written once and hold for all of them.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from rs_assets.lib.llm.budget import Budget
from rs_assets.lib.llm.cache import ResponseStore
from rs_assets.lib.llm.cost import by_model, cost_usd
from rs_assets.lib.llm.ratelimit import RateLimiter
from rs_assets.lib.llm.request import Completion, LLMRequest, Outcome, PermanentError, TransientError
from rs_assets.lib.llm.settings import LLMSettings, Price

Parser = Callable[[str], Any]


class Backend(Protocol):
    """Answers a request or raises TransientError / PermanentError (or Deferred for batches)."""

    batch: bool  # priced at the Batch API discount
    paced: bool  # subject to the rate limiter (remote, synchronous calls)

    async def complete(self, request: LLMRequest) -> Completion: ...

    async def aclose(self) -> None: ...


class Batcher(Backend, Protocol):
    """A backend that collects requests (raising Deferred) until `flush` runs them as a batch."""

    async def flush(self) -> int: ...


class Deferred(Exception):
    """The answer will come from a Batch API job; the request was collected for submission."""


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Server hint when given (capped: a huge Retry-After must not stall a partition; the row fails and
    is retried next run), else exponential; full jitter spreads synchronized retries apart."""
    if retry_after is not None:
        return min(retry_after, cap) + random.uniform(0, base)
    return random.uniform(0, min(cap, base * 2**attempt))


def judge(completion: Completion, parse: Parser) -> tuple[str, Any, str | None]:
    """(status, parsed value, error) of an answer: refusals and truncation are failures, never captions."""
    if completion.refusal:
        return "refused", None, completion.refusal
    if completion.finish_reason == "length":
        return "truncated", None, "finish_reason=length"
    if completion.finish_reason == "content_filter":
        return "filtered", None, "finish_reason=content_filter"
    try:
        return "ok", parse(completion.content or ""), None
    except (ValueError, TypeError, KeyError) as exc:  # pydantic.ValidationError is a ValueError
        return "invalid", None, f"{type(exc).__name__}: {str(exc)[:500]}"


class Limits(Protocol):
    """What every request of a run shares: the budget, the rate limits and the concurrency slots.
    `LocalLimits` holds them in this process; `distributed.SharedLimits` asks one Ray actor holding a
    LocalLimits for all workers, so N workers spend one budget and one advertised rate, never N."""

    async def reserve(self, key: str, amount: float) -> bool: ...

    async def settle(self, key: str, actual: float) -> None: ...

    def slot(self) -> AbstractAsyncContextManager[Any]: ...

    async def acquire(self, model: str, tokens: int) -> None: ...

    def release(self, model: str) -> None: ...

    def observe(self, model: str, headers: Mapping[str, str]) -> None: ...

    def pause(self, model: str, seconds: float) -> None: ...

    def state(self) -> dict[str, Any]: ...


class LocalLimits:
    """The run's Budget, a semaphore of `concurrency` slots and one RateLimiter per model: providers
    advertise limits per model, so the text model's headers must not pace the vision model's calls."""

    def __init__(self, settings: LLMSettings) -> None:
        self.budget = Budget(settings.budget_usd)
        self.caps = (settings.rpm, settings.tpm)
        self.limiters: dict[str, RateLimiter] = {}
        self.slots = asyncio.Semaphore(settings.concurrency)

    def limiter(self, model: str) -> RateLimiter:
        if model not in self.limiters:
            self.limiters[model] = RateLimiter(*self.caps)
        return self.limiters[model]

    async def reserve(self, key: str, amount: float) -> bool:
        return self.budget.reserve(key, amount)

    async def settle(self, key: str, actual: float) -> None:
        self.budget.settle(key, actual)

    def slot(self) -> AbstractAsyncContextManager[Any]:
        return self.slots

    async def acquire(self, model: str, tokens: int) -> None:
        await self.limiter(model).acquire(tokens)

    def release(self, model: str) -> None:
        self.limiter(model).release()

    def observe(self, model: str, headers: Mapping[str, str]) -> None:
        self.limiter(model).observe(headers)

    def pause(self, model: str, seconds: float) -> None:
        self.limiter(model).pause(seconds)

    def state(self) -> dict[str, Any]:
        """Whether the budget closed, and the per-minute limits in force: `rpm_limit`/`tpm_limit` are the
        tightest over the models called, each model's also as `rpm_limit/<model>` when there are several."""
        limits = {m: r.in_force() for m, r in sorted(self.limiters.items()) if r.in_force()}
        out: dict[str, Any] = {"budget_exhausted": self.budget.exhausted}
        for key in ("rpm_limit", "tpm_limit"):
            values = {m: v[key] for m, v in limits.items() if key in v}
            if values:
                out[key] = min(values.values())
            if len(values) > 1:
                out.update({f"{key}/{m}": v for m, v in values.items()})
        return out


class Runner:
    def __init__(
        self,
        backend: Backend,
        store: ResponseStore,
        settings: LLMSettings,
        *,
        offline: Backend | None = None,
        batch_backend: Batcher | None = None,
        log: logging.Logger | None = None,
        redact: Callable[[str], str] = lambda s: s,
        limits: Limits | None = None,
    ) -> None:
        self.backend = backend
        self.batch_backend = batch_backend  # Batch API, for requests run with batch=True
        self.offline = offline  # answers stand-ins during a dry run
        self.store = store
        self.settings = settings
        self.limits = limits or LocalLimits(settings)  # shared by every Runner of a sharded run
        self.log = log or logging.getLogger(__name__)
        self.redact = redact
        self.stats: Counter[str] = Counter()
        self.spent: dict[str, float] = {"cost_usd": 0.0, "est_cost_usd": 0.0}
        self.unpriced: set[str] = set()

    def _price(self, model: str) -> Price | None:
        price = by_model(self.settings.prices, model)
        if price is None and model not in self.unpriced:
            self.unpriced.add(model)
            self.log.warning("no price for model %s: its calls count as $0 (set RS_ASSETS_LLM_PRICES)", model)
        return price

    async def run(self, request: LLMRequest, parse: Parser, *, batch: bool = False) -> Outcome:
        """Stored answer, or (within budget) a fresh one; never raises for a failed call."""
        backend = self.batch_backend if batch and self.batch_backend is not None else self.backend
        fp = request.fingerprint
        stored = await self.store.get(fp)
        if stored is not None:
            self.stats["cache_hits"] += 1
            status, value, error = judge(stored, parse)
            return Outcome(request, status, value, stored, error)
        if self.settings.dry_run:
            return await self._estimate(request, parse, batch=backend.batch)
        reserve = cost_usd(
            self._price(request.model), request.admission_tokens(), 0, request.max_tokens, batch=backend.batch
        )
        if not await self.limits.reserve(fp, reserve):
            self.stats["budget_refused"] += 1
            return Outcome(request, "budget_exhausted", error="budget exhausted before this request")
        try:
            completion = self._redacted(await self._send(request, backend))
        except Deferred:
            self.stats["batch_deferred"] += 1
            return Outcome(request, "pending", error="submitted to the Batch API")
        except (TransientError, PermanentError) as exc:
            await self.limits.settle(fp, 0.0)
            self.stats["failed_requests"] += 1
            error = self.redact(str(exc))
            self.log.warning("LLM request %s (%s) failed: %s", fp[:12], request.prompt_id, error)
            return Outcome(request, "failed", error=error)
        completion.cost_usd = cost_usd(
            self._price(request.model),
            completion.prompt_tokens,
            completion.cached_tokens,
            completion.completion_tokens,
            batch=backend.batch,
        )
        await self.limits.settle(fp, completion.cost_usd)
        self._account(completion)
        status, value, error = judge(completion, parse)
        if status == "ok":
            await self.store.put(request, completion)
        else:
            self.log.info("LLM answer %s (%s) not usable: %s", fp[:12], request.prompt_id, status)
        return Outcome(request, status, value, completion, error and self.redact(error))

    def _redacted(self, completion: Completion) -> Completion:
        """The answer with any echo of the API key masked, before it is parsed, stored or logged."""
        completion.content = completion.content and self.redact(completion.content)
        completion.refusal = completion.refusal and self.redact(completion.refusal)
        return completion

    async def _send(self, request: LLMRequest, backend: Backend) -> Completion:
        """Retries transient errors with backoff honouring Retry-After. The limiter paces every attempt
        inside its concurrency slot, so the moment it admits a request is the moment it is sent."""
        s = self.settings
        for attempt in range(s.max_retries + 1):
            try:
                async with self.limits.slot():
                    completion = await self._attempt(request, backend)
            except TransientError as exc:
                if attempt == s.max_retries:
                    raise
                self.stats["retries"] += 1
                if exc.retry_after is not None:
                    self.limits.pause(request.model, min(exc.retry_after, s.backoff_max_s))
                delay = backoff_delay(attempt, s.backoff_base_s, s.backoff_max_s, exc.retry_after)
                await asyncio.sleep(delay)
                continue
            return completion
        raise AssertionError("unreachable")

    async def _attempt(self, request: LLMRequest, backend: Backend) -> Completion:
        """One call; a paced backend's answer teaches the limiter its headers, a failure frees its slot."""
        if not backend.paced:
            self.stats["attempts"] += 1
            return await backend.complete(request)
        await self.limits.acquire(request.model, request.admission_tokens())
        self.stats["attempts"] += 1
        try:
            completion = await backend.complete(request)
        except BaseException:
            self.limits.release(request.model)
            raise
        self.limits.observe(request.model, completion.headers)
        return completion

    async def _estimate(self, request: LLMRequest, parse: Parser, *, batch: bool) -> Outcome:
        """Dry run: price what would be sent; an offline stand-in answer lets later stages be estimated."""
        prompt, completion_tokens = request.prompt_tokens_estimate(), request.expected_completion_tokens
        est = Completion(
            None,
            None,
            "dry_run",
            request.model,
            prompt,
            0,
            completion_tokens,
            cost_usd(self._price(request.model), prompt, 0, completion_tokens, batch=batch),
        )
        self.stats["est_calls"] += 1
        self.stats["est_prompt_tokens"] += prompt
        self.stats["est_completion_tokens"] += completion_tokens
        self.spent["est_cost_usd"] += est.cost_usd
        value = None
        if self.offline is not None:
            _, value, _ = judge(await self.offline.complete(request), parse)
        return Outcome(request, "dry_run", value, est)

    def _account(self, completion: Completion) -> None:
        self.stats["calls"] += 1
        self.stats["prompt_tokens"] += completion.prompt_tokens
        self.stats["cached_tokens"] += completion.cached_tokens
        self.stats["completion_tokens"] += completion.completion_tokens
        self.spent["cost_usd"] += completion.cost_usd

    async def aclose(self) -> None:
        """Close HTTP connections inside the event loop that opened them."""
        for backend in (self.backend, self.batch_backend, self.offline):
            if backend is not None:
                await backend.aclose()

    def summary(self) -> dict[str, Any]:
        keys = (
            "calls",
            "attempts",
            "retries",
            "cache_hits",
            "failed_requests",
            "budget_refused",
            "prompt_tokens",
            "cached_tokens",
            "completion_tokens",
            "batch_deferred",
            "est_calls",
            "est_prompt_tokens",
            "est_completion_tokens",
        )
        out: dict[str, Any] = {k: int(self.stats.get(k, 0)) for k in keys}
        out["cost_usd"] = self.spent["cost_usd"]
        out["est_cost_usd"] = self.spent["est_cost_usd"]
        if self.settings.budget_usd is not None:
            out["budget_usd"] = self.settings.budget_usd
        out.update(self.limits.state())
        return out
