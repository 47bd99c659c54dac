"""LLM configuration resolved from the environment (DESIGN 4, 10), so a run is reproducible from its env."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

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


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable (or resource field)."""


def _number(cast: type, minimum: float, strict: bool = False) -> Any:
    def parse(var: str, raw: str) -> Any:
        try:
            value = cast(raw)
        except ValueError:
            raise SettingsError(f"{var}={raw!r}: not a number") from None
        if value < minimum or (strict and value == minimum) or value != value:
            raise SettingsError(f"{var}={raw!r}: must be {'>' if strict else '>='} {minimum:g}")
        return value

    return parse


def _choice(*options: str) -> Any:
    def parse(var: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in options:
            raise SettingsError(f"{var}={raw!r}: one of {', '.join(options)}")
        return value

    return parse


def _flag(var: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        raise SettingsError(f"{var}={raw!r}: true or false")
    return value in ("1", "true", "yes", "on")


def _prices(var: str, raw: str) -> dict[str, Price]:
    """`{"my-model": [input, cached, output]}` in USD per 1M tokens, added to the defaults."""
    try:
        table = json.loads(raw)
        extra = {m: Price(*(float(x) for x in v)) for m, v in table.items() if len(v) == 3}
    except (ValueError, TypeError, AttributeError):
        raise SettingsError(f'{var}: expected JSON {{"model": [input, cached_input, output]}}') from None
    if len(extra) != len(table) or any(min(p.input, p.cached, p.output) < 0 for p in extra.values()):
        raise SettingsError(f"{var}: every model needs three non-negative prices")
    return {**DEFAULT_PRICES, **extra}


BATCH_INSTRUCTIONS = "instructions"  # the instruction_sets model calls (instruction_backend: llm)


def _batch(var: str, raw: str) -> frozenset[str]:
    """`gaia,mpgi,instructions` (or `all`) sends those model strategies, and the instruction_sets model
    calls, through the Batch API."""
    from rs_assets.lib.captions.strategies import MODEL_STRATEGIES  # late: strategies import settings

    names = (*MODEL_STRATEGIES, BATCH_INSTRUCTIONS)
    value = raw.strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return frozenset()
    if value in ("1", "true", "yes", "on", "all"):
        return frozenset(names)
    chosen = frozenset(p.strip() for p in value.split(",") if p.strip())
    if not chosen <= set(names):
        unknown = ", ".join(sorted(chosen - set(names)))
        raise SettingsError(f"{var}: unknown strategies {unknown}; batchable: {', '.join(names)}")
    return chosen


@dataclass(frozen=True)
class EnvSetting:
    """One LLM setting read from the environment: its variable, parser and meaning (README table)."""

    var: str
    parse: Any  # (variable, raw text) -> value, raising SettingsError
    doc: str


# Every LLMSettings field a user can set, keyed by field name: the LLMResource is built from this table
ENV: dict[str, EnvSetting] = {
    "backend": EnvSetting("RS_ASSETS_LLM", _choice("local", "openai"), "`local` (offline) or `openai`"),
    "vision_model": EnvSetting("RS_ASSETS_VISION_MODEL", lambda v, r: r.strip(), "vision model (openai)"),
    "text_model": EnvSetting("RS_ASSETS_TEXT_MODEL", lambda v, r: r.strip(), "text model (openai)"),
    "budget_usd": EnvSetting("RS_ASSETS_LLM_BUDGET_USD", _number(float, 0), "hard cap in USD per run"),
    "concurrency": EnvSetting("RS_ASSETS_LLM_CONCURRENCY", _number(int, 1), "requests in flight"),
    "rpm": EnvSetting("RS_ASSETS_LLM_RPM", _number(float, 0, strict=True), "cap on requests per minute"),
    "tpm": EnvSetting("RS_ASSETS_LLM_TPM", _number(float, 0, strict=True), "cap on tokens per minute"),
    "timeout_s": EnvSetting("RS_ASSETS_LLM_TIMEOUT_S", _number(float, 0, strict=True), "per request"),
    "max_retries": EnvSetting("RS_ASSETS_LLM_RETRIES", _number(int, 0), "retries per request"),
    "backoff_base_s": EnvSetting("RS_ASSETS_LLM_BACKOFF_S", _number(float, 0), "first retry delay"),
    "prices": EnvSetting("RS_ASSETS_LLM_PRICES", _prices, "JSON price table added to the defaults"),
    "batch": EnvSetting(
        "RS_ASSETS_LLM_BATCH", _batch, "strategies (and `instructions`) sent through the Batch API, or `all`"
    ),
    "batch_poll_s": EnvSetting("RS_ASSETS_LLM_BATCH_POLL_S", _number(float, 0, strict=True), "batch poll"),
    "dry_run": EnvSetting("RS_ASSETS_LLM_DRY_RUN", _flag, "estimate tokens and $ without sending"),
    "image_mode": EnvSetting("RS_ASSETS_LLM_IMAGE", _choice("auto", "thumb"), "`auto` original or `thumb`"),
    "gaia_prefix": EnvSetting("RS_ASSETS_GAIA_PREFIX", lambda v, r: r, "GAIA caption prefix"),
}


@dataclass(frozen=True)
class LLMSettings:
    """Everything that shapes LLM calls. Model names are part of every request fingerprint."""

    backend: str = "local"
    vision_model: str = LOCAL_MODEL
    text_model: str = LOCAL_MODEL
    budget_usd: float | None = None
    concurrency: int = 64  # 64 calls of 200 ms in flight: 320/s, above a 10,000 RPM tier's 167/s
    rpm: float | None = None  # caps; unset: the limits the server advertises (ratelimit.py)
    tpm: float | None = None
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
    def from_values(
        cls, values: Mapping[str, str | None], names: Mapping[str, str] | None = None
    ) -> LLMSettings:
        """Settings from raw texts keyed by field (unset or empty: the default). Errors name the
        variable, or `names[field]` (a resource field). Models default to gpt-4o / gpt-4o-mini on the
        openai backend; the local backend always uses its template model, batch is openai only."""
        parsed: dict[str, Any] = {}
        for name, setting in ENV.items():
            raw = values.get(name)
            if raw is not None and str(raw).strip() != "":
                parsed[name] = setting.parse((names or {}).get(name, setting.var), str(raw))
        backend = parsed.pop("backend", "local")
        openai = backend == "openai"
        parsed.setdefault("vision_model", "gpt-4o")
        parsed.setdefault("text_model", "gpt-4o-mini")
        if not openai:
            parsed.update(vision_model=LOCAL_MODEL, text_model=LOCAL_MODEL, batch=frozenset())
        return cls(backend=backend, **parsed)

    @classmethod
    def from_env(cls) -> LLMSettings:
        return cls.from_values({name: os.environ.get(s.var) for name, s in ENV.items()})

    def fingerprint(self) -> dict[str, Any]:
        """Every field, JSON-ready: part of the captions files' config fingerprint, so a change of model,
        price, limit or mode is visible in the lake."""
        return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(self).items()}
