"""The caption strategy registry: name, what it needs, its prompts, its pipeline, its rank.

`STRATEGIES` is in preference order (the first is the best final caption for an image): instruction
sets, the release's training captions and the WebDataset `.txt` all read that order from here. A new
strategy is one entry plus its own module with a pipeline `(ctx, record, facts) -> rows`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from rs_assets.lib.captions import gaia, meta, mpgi
from rs_assets.lib.captions.context import Context

Pipeline = Callable[[Context, dict[str, Any], dict[str, Any]], Awaitable[list[dict[str, Any]]]]


@dataclass(frozen=True)
class Strategy:
    name: str
    description: str
    uses_model: bool  # False: always computed locally; True: runs on the configured LLM backend
    prompts: tuple[tuple[str, str], ...]  # (prompt name, version) under rs_assets/prompts
    pipeline: Pipeline
    intermediate: tuple[str, ...] = ()  # row strategies it also writes that are not training captions


async def _meta(ctx: Context, rec: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    return meta.meta_rows(rec, facts, ctx.settings.meta_captions)


_ORDER = (
    Strategy(
        "mpgi",
        "HQRS-IT MpGI: rule facts relayed from several perspectives, integrated by a text model",
        uses_model=True,
        prompts=(mpgi.PERSPECTIVE, mpgi.INTEGRATE),
        pipeline=mpgi.mpgi_rows,
        intermediate=("mpgi_perspective",),
    ),
    Strategy(
        "gaia",
        "GAIA: article summary, then one structured vision call with five prefixed captions",
        uses_model=True,
        prompts=(gaia.SUMMARY, gaia.VISION),
        pipeline=gaia.gaia_rows,
    ),
    Strategy(
        "meta",
        "RS5M meta captions: templates over geo metadata (place, date, sensor, GSD, labels)",
        uses_model=False,
        prompts=(meta.TEMPLATES,),
        pipeline=_meta,
    ),
)
STRATEGIES: dict[str, Strategy] = {s.name: s for s in _ORDER}
PREFERENCE: tuple[str, ...] = tuple(STRATEGIES)  # final captions, best first
MODEL_STRATEGIES: tuple[str, ...] = tuple(s.name for s in _ORDER if s.uses_model)
CaptionStrategy = Literal[PREFERENCE]  # type: ignore[valid-type]  # the sources YAML `captions:` items
# every value the captions table's `strategy` column takes, with what wrote it
ROW_STRATEGIES: dict[str, str] = {
    **{s.name: s.description for s in _ORDER},
    **{i: f"intermediate rows of {s.name} (not training captions)" for s in _ORDER for i in s.intermediate},
}
_OWNER = {**{s.name: s for s in _ORDER}, **{i: s for s in _ORDER for i in s.intermediate}}


def uses_model(row_strategy: str) -> bool:
    """Whether rows of this `strategy` value came from the LLM backend (refusal rates, budgets)."""
    return _OWNER[row_strategy].uses_model if row_strategy in _OWNER else False


def preference_rank(row_strategy: str) -> int:
    """Rank among final captions (0 = best); intermediate or unknown strategies rank last."""
    return PREFERENCE.index(row_strategy) if row_strategy in PREFERENCE else len(PREFERENCE)
