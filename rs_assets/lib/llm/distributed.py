"""The LLM stages on the `ray` executor: shards of a partition as Ray tasks sharing ONE budget, rate
limiter and concurrency budget, held by a Ray actor (`LimitsHost`, a thin wrapper of `LocalLimits`).

Limits one worker adopts from `x-ratelimit-*` headers pace every worker, a 429's pause stops them all,
and every reservation is made against one budget: N workers never make N times the allowed traffic or
spend. A shard whose rows are all final is written to the lake (`shards.py` keys), so a rerun skips it;
one with retryable failures is not, and is asked again (its answers already in the response store).
Ray is imported only when a shard runs.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pyarrow as pa

from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.runner import LocalLimits
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.shards import plan_shards, ray_module

# Calls waiting in the actor are coroutines: cheap. A low cap could queue `leave` behind `enter`s that
# wait for the slot it frees (a deadlock once workers x concurrency passed it).
ACTOR_CONCURRENCY = 100_000
# The OpenAI SDK's own variables, passed to the tasks (a cluster's workers do not have the run's env)
CLIENT_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL")
NOT_SUMMED = ("budget_usd", "rpm_limit", "tpm_limit")  # settings and limits, the same in every shard
# (lake root, result key, shard rows, config, limits actor or None) -> (rows, Runner stats); writes the
# result under the key when every row is final
LLMShardFn = Callable[[str, str, pa.Table, Any, Any], tuple[pa.Table, dict[str, Any]]]


class LimitsHost:
    """The actor's body: one LocalLimits for the whole run, every call on the actor's one event loop."""

    def __init__(self, settings: LLMSettings) -> None:
        self.limits = LocalLimits(settings)

    async def reserve(self, key: str, amount: float) -> bool:
        return await self.limits.reserve(key, amount)

    async def settle(self, key: str, actual: float) -> None:
        await self.limits.settle(key, actual)

    async def enter(self) -> None:
        await self.limits.slots.acquire()

    async def leave(self) -> None:
        self.limits.slots.release()

    async def acquire(self, model: str, tokens: int) -> None:
        await self.limits.acquire(model, tokens)

    async def release(self, model: str) -> None:
        self.limits.release(model)

    async def observe(self, model: str, headers: dict[str, str]) -> None:
        self.limits.observe(model, headers)

    async def pause(self, model: str, seconds: float) -> None:
        self.limits.pause(model, seconds)

    async def state(self) -> dict[str, Any]:
        return self.limits.state()


class SharedLimits:
    """A worker's view of the actor, with the Runner's `Limits` shape. Calls that only inform (release,
    observe, pause, leave) are not awaited; a local semaphore bounds this worker's waiters at the actor."""

    def __init__(self, host: Any, concurrency: int) -> None:
        self.host = host
        self.local = asyncio.Semaphore(concurrency)
        self.exhausted = False

    async def reserve(self, key: str, amount: float) -> bool:
        ok = bool(await self.host.reserve.remote(key, amount))
        self.exhausted |= not ok
        return ok

    async def settle(self, key: str, actual: float) -> None:
        await self.host.settle.remote(key, actual)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self.local:
            await self.host.enter.remote()
            try:
                yield
            finally:
                self.host.leave.remote()

    async def acquire(self, model: str, tokens: int) -> None:
        await self.host.acquire.remote(model, tokens)

    def release(self, model: str) -> None:
        self.host.release.remote(model)

    def observe(self, model: str, headers: Mapping[str, str]) -> None:
        self.host.observe.remote(model, dict(headers))

    def pause(self, model: str, seconds: float) -> None:
        self.host.pause.remote(model, seconds)

    def state(self) -> dict[str, Any]:
        """What this worker saw; the run's limits in force come from the actor (`run_llm_shards`)."""
        return {"budget_exhausted": self.exhausted}


def merged_stats(parts: Sequence[Mapping[str, Any]], shared: Mapping[str, Any]) -> dict[str, Any]:
    """Shard stats as one run's: counts and dollars summed, flags or-ed, then the shared actor's state."""
    out: dict[str, Any] = {}
    for part in parts:
        for k, v in part.items():
            if isinstance(v, bool):
                out[k] = out.get(k, False) or v
            elif isinstance(v, int | float) and k not in NOT_SUMMED:
                out[k] = out.get(k, 0) + v
            else:
                out[k] = v
    return {**out, **shared}


def in_input_order(table: pa.Table, record_ids: Sequence[str]) -> pa.Table:
    """Rows ordered by their record's position in the input (stable: a record's rows keep their order),
    which is the order the local executor writes them in."""
    position = {r: i for i, r in enumerate(record_ids)}
    keys = [position[r] for r in table["record_id"].to_pylist()]
    return table.take(sorted(range(table.num_rows), key=keys.__getitem__))


def run_llm_shards(
    lake: Lake,
    asset: str,
    source: str,
    year: int,
    records: pa.Table,
    fn: LLMShardFn,
    config: Any,
    fingerprint: Any,
    shard_size: int,
    shared: LLMSettings | None,
) -> tuple[list[pa.Table], dict[str, Any], dict[str, int]]:
    """(every shard's rows, the stats of the shards computed now, shard counts). Finished shards are
    read back; the rest run as Ray tasks with one `LimitsHost` made from `shared` (None: the calls
    cost nothing and are not paced, e.g. the offline backend, and each task keeps its own limits)."""
    plan = plan_shards(lake, asset, source, year, records, fingerprint, shard_size)
    parts, keys, todo = plan.parts, plan.keys, plan.todo
    tables: dict[int, pa.Table] = {i: lake.read_table(k) for i, k in enumerate(keys) if i not in todo}
    stats: dict[str, Any] = {}
    if todo:
        ray = ray_module()
        env = {k: os.environ[k] for k in CLIENT_ENV if os.environ.get(k)}
        task = ray.remote(fn).options(runtime_env={"env_vars": env}) if env else ray.remote(fn)
        host = None
        if shared is not None:
            host = ray.remote(num_cpus=0, max_concurrency=ACTOR_CONCURRENCY)(LimitsHost).remote(shared)
        cfg = ray.put(config)  # one copy of the config for every task
        try:
            done = ray.get([task.remote(lake.root, keys[i], parts[i], cfg, host) for i in todo])
            state = ray.get(host.state.remote()) if host is not None else {}
        finally:
            if host is not None:
                ray.kill(host)
        tables.update({i: table for i, (table, _) in zip(todo, done, strict=True)})
        stats = merged_stats([s for _, s in done], state)
    return [tables[i] for i in range(len(parts))], stats, plan.counts()
