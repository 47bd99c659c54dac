"""LLM configuration resolved from the environment (DESIGN 4, 10), so a run is reproducible from its env."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from rs_assets.lib.settings import llm_backend

LOCAL_MODEL = "local-template-v1"


@dataclass(frozen=True)
class Price:
    """US dollars per 1M tokens."""

    input: float
    cached: float
    output: float


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 1.25, 10.00),
    "gpt-4o-mini": Price(0.15, 0.075, 0.60),
    LOCAL_MODEL: Price(0.0, 0.0, 0.0),
}


def _env(name: str, default: Any, cast: type = str) -> Any:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    if cast is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return cast(raw.strip())


def _prices_from_env() -> dict[str, Price]:
    """`RS_ASSETS_LLM_PRICES='{"my-model": [input, cached, output]}'` adds or overrides models."""
    prices = dict(DEFAULT_PRICES)
    for model, (inp, cached, out) in json.loads(os.environ.get("RS_ASSETS_LLM_PRICES") or "{}").items():
        prices[model] = Price(float(inp), float(cached), float(out))
    return prices


def _batch_from_env() -> frozenset[str]:
    """`RS_ASSETS_LLM_BATCH=gaia,mpgi` (or `all`) sends those strategies through the Batch API."""
    raw = (os.environ.get("RS_ASSETS_LLM_BATCH") or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return frozenset()
    if raw in ("1", "true", "yes", "on", "all"):
        return frozenset({"gaia", "mpgi"})
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class LLMSettings:
    """Everything that shapes LLM calls. Model names are part of every request fingerprint."""

    backend: str = "local"
    vision_model: str = LOCAL_MODEL
    text_model: str = LOCAL_MODEL
    budget_usd: float | None = None
    concurrency: int = 16
    rpm: float = 500.0
    tpm: float = 200_000.0
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_base_s: float = 1.0
    backoff_max_s: float = 60.0
    prices: dict[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    batch: frozenset[str] = frozenset()
    batch_poll_s: float = 30.0
    batch_max_wait_s: float = 26 * 3600.0
    dry_run: bool = False
    image_mode: str = "auto"  # `auto`: original, `low` detail when <= 512 px; `thumb`: always the thumbnail
    gaia_prefix: str = "The image showcases:"
    gaia_summary_min_chars: int = 800
    mpgi_perspectives: int = 4
    mpgi_captions: int = 4
    meta_captions: int = 5
    cache_prefix: str = "llm_cache"

    @classmethod
    def from_env(cls) -> LLMSettings:
        backend = llm_backend()
        openai = backend == "openai"
        budget = _env("RS_ASSETS_LLM_BUDGET_USD", None, float)
        return cls(
            backend=backend,
            vision_model=_env("RS_ASSETS_VISION_MODEL", "gpt-4o") if openai else LOCAL_MODEL,
            text_model=_env("RS_ASSETS_TEXT_MODEL", "gpt-4o-mini") if openai else LOCAL_MODEL,
            budget_usd=budget,
            concurrency=_env("RS_ASSETS_LLM_CONCURRENCY", cls.concurrency, int),
            rpm=_env("RS_ASSETS_LLM_RPM", cls.rpm, float),
            tpm=_env("RS_ASSETS_LLM_TPM", cls.tpm, float),
            timeout_s=_env("RS_ASSETS_LLM_TIMEOUT_S", cls.timeout_s, float),
            max_retries=_env("RS_ASSETS_LLM_RETRIES", cls.max_retries, int),
            backoff_base_s=_env("RS_ASSETS_LLM_BACKOFF_S", cls.backoff_base_s, float),
            prices=_prices_from_env(),
            batch=_batch_from_env() if openai else frozenset(),
            batch_poll_s=_env("RS_ASSETS_LLM_BATCH_POLL_S", cls.batch_poll_s, float),
            dry_run=_env("RS_ASSETS_LLM_DRY_RUN", False, bool),
            image_mode=_env("RS_ASSETS_LLM_IMAGE", cls.image_mode),
            gaia_prefix=_env("RS_ASSETS_GAIA_PREFIX", cls.gaia_prefix),
        )
