"""What a strategy pipeline needs: the runner, the settings, which strategies batch, which image to show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rs_assets.lib.imaging import THUMB_SIZE
from rs_assets.lib.lake import image_key, thumb_key
from rs_assets.lib.llm.cost import detail_for
from rs_assets.lib.llm.request import IMAGE_MIME, ImageRef, LLMRequest, Outcome
from rs_assets.lib.llm.runner import Parser, Runner
from rs_assets.lib.llm.settings import LLMSettings


@dataclass
class Context:
    runner: Runner
    settings: LLMSettings
    batch: frozenset[str] = frozenset()  # strategies whose requests go through the Batch API

    async def ask(self, strategy: str, request: LLMRequest, parse: Parser) -> Outcome:
        return await self.runner.run(request, parse, batch=strategy in self.batch)


def image_ref(rec: dict[str, Any], mode: str) -> ImageRef:
    """The original when the API accepts its format (low detail for chips <= 512 px), else the thumbnail."""
    width, height = int(rec.get("width") or THUMB_SIZE), int(rec.get("height") or THUMB_SIZE)
    ext = (rec.get("image_ext") or "").lower()
    if mode != "thumb" and ext in IMAGE_MIME:
        return ImageRef(image_key(rec["image_id"], ext), width, height, detail_for(width, height))
    scale = min(1.0, THUMB_SIZE / max(width, height))
    thumb_w, thumb_h = max(1, round(width * scale)), max(1, round(height * scale))
    return ImageRef(thumb_key(rec["image_id"]), thumb_w, thumb_h, "low")
