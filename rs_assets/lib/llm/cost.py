"""Token and dollar arithmetic: exact image tokens (DESIGN 10), text estimates, prices.

Popular tools count every image as 85 tokens and overshoot TPM limits 3-9x; admission control and the
dry run use the tiling rule instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TypeVar

from rs_assets.lib.llm.settings import Price

V = TypeVar("V")

# (base, per 512-px tile) image tokens by model family; gpt-4o-mini bills images ~33x to match gpt-4o prices.
IMAGE_TOKENS: dict[str, tuple[int, int]] = {"gpt-4o-mini": (2833, 5667), "gpt-4o": (85, 170)}
LOW_DETAIL_MAX_SIDE = 512
CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4
BATCH_DISCOUNT = 0.5


def by_model(table: Mapping[str, V], model: str) -> V | None:
    """The entry for `model`: its exact name, else the longest known prefix (`gpt-4o-2024-08-06` ->
    `gpt-4o`, `gpt-4o-mini-2024-07-18` -> `gpt-4o-mini`); None when nothing matches."""
    if model in table:
        return table[model]
    known = [k for k in table if model.startswith(k)]
    return table[max(known, key=len)] if known else None


def detail_for(width: int, height: int) -> str:
    """Chips that fit in 512 px lose nothing at `low` (one 512-px tile at most)."""
    return "low" if max(width, height) <= LOW_DETAIL_MAX_SIDE else "high"


def image_tokens(width: int, height: int, detail: str, model: str = "gpt-4o") -> int:
    """Billed tokens of one image: low = base; high = base + per-tile x 512-px tiles after fitting in
    2048x2048 and scaling the short side to 768 (1024x1024 -> 765 on gpt-4o)."""
    base, per_tile = by_model(IMAGE_TOKENS, model) or IMAGE_TOKENS["gpt-4o"]
    if detail == "low":
        return base
    w, h = float(width), float(height)
    if max(w, h) > 2048:
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    return base + per_tile * math.ceil(w / 512) * math.ceil(h / 512)


def text_tokens(text: str) -> int:
    """Expected tokens of English prose (~4 characters per token); no tokenizer download needed."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def cost_usd(
    price: Price | None,
    prompt_tokens: int,
    cached_tokens: int,
    completion_tokens: int,
    *,
    batch: bool = False,
) -> float:
    """Dollars for one response; cached prompt tokens are billed at the cached rate. No price costs 0 (with a
    budget set, unpriced models are refused before the stage starts: `engine.caption_partition`)."""
    if price is None:
        return 0.0
    uncached = max(prompt_tokens - cached_tokens, 0)
    dollars = (uncached * price.input + cached_tokens * price.cached + completion_tokens * price.output) / 1e6
    return dollars * (BATCH_DISCOUNT if batch else 1.0)
