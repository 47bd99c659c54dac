"""Resources bound to every asset: the lake, the LLM settings, the pool's compute. Their fields default
to the documented environment variables (`EnvVar`, shown as such in the launchpad) and can be set per
run in the launchpad or run config."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
from pydantic import create_model

from rs_assets.lib import settings
from rs_assets.lib.lake import Lake, check_root
from rs_assets.lib.llm.settings import ENV, LLMSettings
from rs_assets.lib.shards import EXECUTORS


class LakeResource(dg.ConfigurableResource):
    """The lake root: a folder or `s3://bucket/prefix`; empty means `$RS_ASSETS_HOME/lake`."""

    root: str = ""

    def lake(self) -> Lake:
        return Lake(self.root or settings.lake_root())


class PoolResource(dg.ConfigurableResource):
    """Decode workers of filtered_pool; 0 = the cores shared by the runs the queue lets run at once."""

    workers: int = 0

    def worker_count(self, context: dg.AssetExecutionContext) -> int:
        if self.workers > 0:
            return self.workers
        queue = context.instance.get_concurrency_config().run_queue_config
        runs = queue.max_concurrent_runs if queue and queue.max_concurrent_runs > 0 else 1
        return max(1, (os.cpu_count() or 1) // runs)


class ExecutorResource(dg.ConfigurableResource):
    """Where the heavy per-record work of a partition runs (filtered_pool's decoding, the LLM calls of
    captions and instruction_sets): `local` (this run's process) or `ray` (shards of `shard_size`
    records as Ray tasks; `RAY_ADDRESS` picks the cluster, else a local one)."""

    kind: str = "local"
    shard_size: int = 512

    def checked(self) -> ExecutorResource:
        if self.kind not in EXECUTORS:
            raise ValueError(f"RS_ASSETS_EXECUTOR={self.kind!r}: one of {', '.join(EXECUTORS)}")
        if self.shard_size < 1:
            raise ValueError(f"RS_ASSETS_SHARD_SIZE={self.shard_size}: must be >= 1")
        return self


class _LLMBase(dg.ConfigurableResource):
    def settings(self) -> LLMSettings:
        """Parsed and validated; an error names the resource field."""
        values = {name: getattr(self, name) for name in ENV}
        return LLMSettings.from_values(values, names={n: f"resources.llm.{n}" for n in ENV})


# One text field per LLM setting (the table in lib/llm/settings.py is the single list): Dagster has no
# float EnvVar, so every field carries the variable's raw text, parsed by the same code as the env.
LLMResource: Any = create_model(
    "LLMResource",
    __base__=_LLMBase,
    __doc__="LLM backend, models, limits, budget and batch mode (`RS_ASSETS_LLM*` variables).",
    **{name: (str, "") for name in ENV},
)


def _bound(var: str) -> Any:
    return dg.EnvVar(var) if os.environ.get(var, "").strip() else ""


def lake_from_env() -> LakeResource:
    root = os.environ.get("RS_ASSETS_LAKE", "").strip()
    if root:
        check_root(root)
    return LakeResource(root=dg.EnvVar("RS_ASSETS_LAKE") if root else "")


def llm_from_env() -> Any:
    """Validates the environment now (a bad value fails the code location load, naming the variable)."""
    LLMSettings.from_env()
    return LLMResource(**{name: _bound(s.var) for name, s in ENV.items()})


def executor_from_env() -> ExecutorResource:
    kind = os.environ.get("RS_ASSETS_EXECUTOR", "").strip().lower() or "local"
    raw = os.environ.get("RS_ASSETS_SHARD_SIZE", "").strip()
    if raw and not raw.isdigit():
        raise ValueError(f"RS_ASSETS_SHARD_SIZE={raw!r}: a whole number >= 1")
    ExecutorResource(kind=kind, shard_size=int(raw) if raw else 512).checked()
    return ExecutorResource(
        kind=dg.EnvVar("RS_ASSETS_EXECUTOR") if os.environ.get("RS_ASSETS_EXECUTOR", "").strip() else "local",
        shard_size=dg.EnvVar.int("RS_ASSETS_SHARD_SIZE") if raw else 512,
    )


def pool_from_env() -> PoolResource:
    raw = os.environ.get("RS_ASSETS_POOL_WORKERS", "").strip()
    if raw and not (raw.isdigit() and int(raw) >= 0):
        raise ValueError(f"RS_ASSETS_POOL_WORKERS={raw!r}: a whole number >= 0 (0 = automatic)")
    return PoolResource(workers=dg.EnvVar.int("RS_ASSETS_POOL_WORKERS") if raw else 0)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "lake": lake_from_env(),
            "llm": llm_from_env(),
            "pool": pool_from_env(),
            "executor": executor_from_env(),
        }
    )
