"""Object geometry of the detection formats: boxes from polygons, rotated boxes as corners, and the fit
of annotated objects to the image actually read.

Objects are {cls, bbox [x1, y1, x2, y2], poly? [x1, y1, ... x4, y4], description?} in pixels of the
original image; YOLO's are in [0, 1] and marked `normalized` until `fit_to_image` scales them.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from rs_assets.lib.raw_scrape.rows import probe
from rs_assets.lib.records import RawItem

Object = dict[str, Any]


def number(value: Any) -> float:
    """A finite coordinate from annotation text or JSON; ValueError otherwise (NaN and inf included)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    out = float(value)
    if not math.isfinite(out):
        raise ValueError(f"{value!r} is not a finite number")
    return out


def numbers(values: Any) -> list[float]:
    """`number` of each value, at the speed a million COCO annotations need."""
    out = [float(v) for v in values]
    if not all(map(math.isfinite, out)) or bool in map(type, values):
        raise ValueError(f"{values!r} are not finite numbers")
    return out


def make_object(
    cls: str, points: Sequence[float], description: str | None = None, normalized: bool = False
) -> Object:
    """An object from its box (4 numbers: x1 y1 x2 y2) or polygon (2n numbers): the axis-aligned box
    is the polygon's extent; a quadrilateral (8 numbers) is kept as `poly`."""
    xs, ys = points[0::2], points[1::2]
    obj: Object = {"cls": cls, "bbox": [min(xs), min(ys), max(xs), max(ys)]}
    if len(points) == 8:
        obj["poly"] = [float(v) for v in points]
    if description:
        obj["description"] = description
    if normalized:
        obj["normalized"] = True
    return obj


def rotated_corners(cx: float, cy: float, w: float, h: float, angle: float) -> list[float]:
    """Corners (x1 y1 ... x4 y4, from the top left, clockwise on screen) of a w x h box centred on
    (cx, cy) and turned by `angle` radians, clockwise on screen (y points down: roLabelImg's robndbox)."""
    cos, sin = math.cos(angle), math.sin(angle)
    out: list[float] = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out += [cx + dx * cos - dy * sin, cy + dx * sin + dy * cos]
    return out


def _clamp(values: Sequence[float], width: int, height: int) -> list[float]:
    return [min(max(v, 0.0), float(width if i % 2 == 0 else height)) for i, v in enumerate(values)]


def _scaled(obj: Object, width: int, height: int) -> Object:
    sx = [width, height] * 4
    out = {k: v for k, v in obj.items() if k != "normalized"}
    out["bbox"] = [v * s for v, s in zip(obj["bbox"], sx, strict=False)]
    if obj.get("poly"):
        out["poly"] = [v * s for v, s in zip(obj["poly"], sx, strict=True)]
    return out


def fit_objects(
    objects: list[Object], width: int, height: int
) -> tuple[list[Object], list[int], int, list[dict[str, Any]]]:
    """`objects` in the image's pixels: normalised ones scaled, boxes and polygons clipped to
    [0, width] x [0, height]. Returns (objects kept, index in `objects` of each kept one, how many were
    clipped, the ones dropped because nothing of them is inside, with their annotated box)."""
    kept, index, dropped, clipped = [], [], [], 0
    for i, raw in enumerate(objects):
        obj = _scaled(raw, width, height) if raw.get("normalized") else raw
        box = _clamp(obj["bbox"], width, height)
        if box[2] <= box[0] or box[3] <= box[1]:
            x1, y1, x2, y2 = obj["bbox"]
            reason = "empty box" if x2 <= x1 or y2 <= y1 else "outside the image"
            dropped.append({"cls": obj["cls"], "bbox": obj["bbox"], "reason": reason})
            continue
        poly = _clamp(obj["poly"], width, height) if obj.get("poly") else None
        if box != obj["bbox"] or poly != obj.get("poly"):
            clipped += 1
            obj = {**obj, "bbox": box, **({"poly": poly} if poly else {})}
        kept.append(obj)
        index.append(i)
    return kept, index, clipped, dropped


def fit_to_image(item: RawItem) -> RawItem:
    """A format's `fit` hook: the item's objects fitted to the image read (`fit_objects`); the counts go
    to `extra.clipped_objects` and `extra.dropped_objects`, and `extra.difficult` (indices into
    `objects`) follows the objects kept. Without an image size (nothing read, undecodable header)
    pixel objects are kept as annotated and normalised ones move to `extra.unplaced_objects`."""
    if not item.objects:
        return item
    _, width, height = probe(item.content) if item.status == "ok" and item.content else ("", None, None)
    extra = dict(item.extra)
    if width is None or height is None:
        unplaced = [o for o in item.objects if o.get("normalized")]
        if not unplaced:
            return item
        extra["unplaced_objects"] = [{"cls": o["cls"], "bbox": o["bbox"]} for o in unplaced]
        return dataclasses.replace(
            item, objects=[o for o in item.objects if not o.get("normalized")], extra=extra
        )
    objects, index, clipped, dropped = fit_objects(item.objects, width, height)
    if clipped:
        extra["clipped_objects"] = clipped
    if dropped:
        extra["dropped_objects"] = dropped
    if "difficult" in extra:
        position = {old: new for new, old in enumerate(index)}
        extra["difficult"] = [position[i] for i in extra["difficult"] if i in position]
    return dataclasses.replace(item, objects=objects, extra=extra)
