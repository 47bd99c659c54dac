"""Box conventions: how one set of pixel boxes is written for each training target (DESIGN 11).

Tasks put `Boxes` (pixel geometry) into their text; `render` writes them in a convention and records
where each list of boxes sits (a span: turn, start, end, the boxes in pixels). The table stores the
LLaVA text plus those spans, so an export writes the same conversation for another target by
replacing each span (`rerender`), exactly, from the pixel geometry rather than from rounded text.

The conventions are `CONVENTION_DOCS` below (the dataset card prints them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Region:
    """One object's box in pixels of the original image (axis-aligned; `poly` when oriented)."""

    cls: str
    x1: float
    y1: float
    x2: float
    y2: float
    poly: tuple[float, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "cls": self.cls,
            "x1": self.x1,
            "y1": self.y1,
            "x2": self.x2,
            "y2": self.y2,
            "poly": list(self.poly) if self.poly else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Region:
        poly = d.get("poly")
        return cls(d["cls"], d["x1"], d["y1"], d["x2"], d["y2"], tuple(poly) if poly else None)


@dataclass(frozen=True)
class Boxes:
    """A list of boxes mentioned together in a text (one grounding answer, one region question)."""

    regions: tuple[Region, ...]


Segment = str | Boxes
Text = str | tuple[Segment, ...]  # what a task writes: plain text, or text with boxes in it


def region_of(obj: dict[str, Any], width: int | None, height: int | None) -> Region | None:
    """The object's box clamped to the image, or None when it is unusable (no image size, empty or
    outside the image): a task never states a box it cannot place."""
    if not width or not height:
        return None
    try:
        x1, y1, x2, y2 = (float(obj[k]) for k in ("x1", "y1", "x2", "y2"))
    except (KeyError, TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return None
    x1, x2 = max(0.0, min(x1, x2)), min(float(width), max(x1, x2))
    y1, y2 = max(0.0, min(y1, y2)), min(float(height), max(y1, y2))
    if x2 <= x1 or y2 <= y1:
        return None
    poly = obj.get("poly")
    usable = poly is not None and len(poly) == 8 and all(math.isfinite(float(v)) for v in poly)
    return Region(str(obj["cls"]), x1, y1, x2, y2, tuple(float(v) for v in poly) if usable else None)


def scaled(value: float, size: int, scale: int) -> int:
    """A pixel coordinate as an integer on 0..scale relative to the image side."""
    return max(0, min(scale, round(scale * value / size)))


def angle(region: Region) -> int:
    """GeoChat's θ: the direction of the oriented box's first edge folded into (0, 90] degrees; 90 for an
    axis-aligned box (as GeoChat's own data writes unrotated boxes)."""
    if not region.poly:
        return 90
    x1, y1, x2, y2 = region.poly[:4]
    folded = round(math.degrees(math.atan2(y2 - y1, x2 - x1))) % 90
    return folded or 90


def _scaled4(r: Region, w: int, h: int, scale: int) -> tuple[int, int, int, int]:
    return scaled(r.x1, w, scale), scaled(r.y1, h, scale), scaled(r.x2, w, scale), scaled(r.y2, h, scale)


def _llava(boxes: Sequence[Region], w: int, h: int) -> str:
    return ", ".join("[{}, {}, {}, {}]".format(*_scaled4(r, w, h, 1000)) for r in boxes)


def _geochat(boxes: Sequence[Region], w: int, h: int) -> str:
    return "<delim>".join(
        "{{<{}><{}><{}><{}>|<{}>}}".format(*_scaled4(r, w, h, 100), angle(r)) for r in boxes
    )


def _qwen2vl(boxes: Sequence[Region], w: int, h: int) -> str:
    return "".join("<|box_start|>({},{}),({},{})<|box_end|>".format(*_scaled4(r, w, h, 1000)) for r in boxes)


def _pixels(r: Region, w: int, h: int) -> list[int]:
    return [
        max(0, min(w, round(r.x1))),
        max(0, min(h, round(r.y1))),
        max(0, min(w, round(r.x2))),
        max(0, min(h, round(r.y2))),
    ]


def _qwen25vl(boxes: Sequence[Region], w: int, h: int) -> str:
    items = [{"bbox_2d": _pixels(r, w, h), "label": r.cls.replace("_", " ")} for r in boxes]
    return json.dumps(items[0] if len(items) == 1 else items, ensure_ascii=False)


STORED_CONVENTION = "llava"  # the instruction_sets `conversations` column; exports rewrite from the spans
Renderer = Callable[[Sequence[Region], int, int], str]
CONVENTIONS: dict[str, Renderer] = {
    "llava": _llava,
    "geochat": _geochat,
    "qwen2vl": _qwen2vl,
    "qwen25vl": _qwen25vl,
}
CONVENTION_DOCS: dict[str, str] = {
    "llava": "`[x1, y1, x2, y2]` integers on a 0-1000 scale relative to image width/height; several "
    "joined by `, `",
    "geochat": "`{<x1><y1><x2><y2>|<θ>}` integers on 0-100, θ the oriented box's angle in degrees (0, 90], "
    "90 for axis-aligned boxes; several joined by `<delim>`",
    "qwen2vl": "`<|box_start|>(x1,y1),(x2,y2)<|box_end|>` integers on 0-1000 (Qwen2-VL box tokens)",
    "qwen25vl": '`{"bbox_2d": [x1, y1, x2, y2], "label": ...}` absolute pixels of the original image '
    "(a JSON list for several)",
}


def render(text: Text, convention: str, width: int, height: int, turn: int) -> tuple[str, list[dict]]:
    """The text with its boxes written in `convention`, and the span of every list of boxes."""
    parts: list[str] = []
    spans: list[dict] = []
    pos = 0
    for seg in (text,) if isinstance(text, str) else text:
        if isinstance(seg, Boxes):
            out = CONVENTIONS[convention](seg.regions, width, height)
            spans.append(
                {
                    "turn": turn,
                    "start": pos,
                    "end": pos + len(out),
                    "boxes": [r.as_dict() for r in seg.regions],
                }
            )
        else:
            out = seg
        parts.append(out)
        pos += len(out)
    return "".join(parts), spans


def rerender(values: Sequence[str], regions: dict[str, Any], convention: str) -> list[str]:
    """Turn texts rendered in any convention, rewritten in `convention` from their spans (pure)."""
    out = list(values)
    w, h = regions["width"], regions["height"]
    for span in sorted(regions["spans"], key=lambda s: (s["turn"], -s["start"])):  # right to left per turn
        boxes = [Region.from_dict(b) for b in span["boxes"]]
        text = out[span["turn"]]
        out[span["turn"]] = text[: span["start"]] + CONVENTIONS[convention](boxes, w, h) + text[span["end"] :]
    return out
