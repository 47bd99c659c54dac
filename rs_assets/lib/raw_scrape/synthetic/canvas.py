"""Drawing primitives of the synthetic scenes: land-cover tones, shapes, the palette canvas."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

BUILT_UP = ("urban", "port", "airport")
SIDES, SIDE_P = (256, 384, 512, 768, 1024), (0.15, 0.2, 0.35, 0.18, 0.12)
# land-cover class -> (natural-colour tones, texture amplitude); `road` counts as urban in the fractions
TONES: dict[str, tuple[list[tuple[int, int, int]], float]] = {
    "cropland": (
        [
            (78, 118, 58),
            (96, 134, 64),
            (150, 134, 96),
            (168, 150, 104),
            (120, 108, 78),
            (182, 170, 112),
            (62, 100, 48),
            (110, 140, 70),
        ],
        6,
    ),
    "forest": ([(38, 62, 38), (30, 55, 35), (45, 70, 40)], 20),
    "grassland": ([(104, 122, 76), (120, 130, 84), (92, 112, 70)], 8),
    "water": ([(22, 44, 66), (30, 56, 70), (26, 50, 74)], 3),
    "urban": ([(128, 124, 118), (148, 142, 132), (112, 110, 108), (166, 158, 146)], 16),
    "road": ([(92, 92, 94), (104, 102, 100)], 5),
    "bare": ([(206, 182, 142), (190, 160, 120), (150, 126, 100), (124, 116, 108)], 9),
    "snow": ([(232, 238, 246), (222, 230, 240), (240, 244, 250)], 4),
}
CLASSES = (*TONES, "cloud")
CODE = {c: k for k, c in enumerate(CLASSES)}
ROOFS = [(178, 84, 62), (204, 204, 200), (122, 124, 130), (88, 88, 94), (170, 150, 122)]
HULLS = [(200, 200, 204), (60, 64, 70), (150, 50, 45), (110, 118, 128)]
HULL = [(0.5, 0.0), (0.35, 0.08), (-0.5, 0.08), (-0.5, -0.08), (0.35, -0.08)]
_WING = [
    (0.5, 0),
    (0.42, 0.05),
    (0.1, 0.05),
    (-0.06, 0.5),
    (-0.16, 0.5),
    (-0.08, 0.05),
    (-0.38, 0.05),
    (-0.48, 0.2),
    (-0.52, 0.2),
    (-0.47, 0),
]
PLANE = _WING + [(x, -y) for x, y in reversed(_WING[1:-1])]
NOUNS = {
    "building": "building",
    "storage_tank": "storage tank",
    "ship": "ship",
    "aircraft": "aircraft",
    "center_pivot": "center-pivot field",
}


def pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]


def smooth(rng: np.random.Generator, w: int, h: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bicubically."""
    gw, gh = max(2, round(cells * w / max(w, h))), max(2, round(cells * h / max(w, h)))
    grid = Image.fromarray(rng.random((gh, gw), dtype=np.float32))
    return np.clip(np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC)), 0.0, 1.0)


def rotate(pts: list[tuple[float, float]], ang: float, cx: float, cy: float) -> list[tuple[float, float]]:
    c, s = math.cos(ang), math.sin(ang)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def rect_poly(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def bbox_of(poly: list[tuple[float, float]]) -> list[int]:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]


class Canvas:
    """Land cover as palette indices (an L image) plus the colour, class and texture of each index."""

    def __init__(self, rng: np.random.Generator, w: int, h: int, gsd: float, base: str) -> None:
        self.rng, self.w, self.h, self.gsd = rng, w, h, gsd
        self.colors: list[int] = []
        self.classes: list[str] = []
        self.amps: list[float] = []
        self.img = Image.new("L", (w, h), self.ink(base))
        self.draw = ImageDraw.Draw(self.img)

    def px(self, metres: float, lo: float = 1.0, hi: float = 1e9) -> float:
        """A ground size in pixels at this GSD, clamped so objects stay visible and inside the frame."""
        return min(max(metres / self.gsd, lo), hi)

    def ink(self, cls: str, color: tuple[int, int, int] | None = None) -> int:
        tones, amp = TONES[cls]
        tone, jitter = color or pick(self.rng, tones), self.rng.integers(-8, 9, 3).tolist()
        self.colors += [min(max(c + j, 0), 255) for c, j in zip(tone, jitter, strict=True)]
        self.classes.append(cls)
        self.amps.append(amp)
        return len(self.classes) - 1

    def patch(self, field: Image.Image, lo: float, hi: float, ink: int) -> None:
        """Paint `ink` where lo <= field < hi (field: L image of noise)."""
        self.img.paste(ink, mask=field.point([255 if lo * 255 <= v < hi * 255 else 0 for v in range(256)]))

    def grid(self, cell: float, ang: float, within: tuple[float, float, float] | None = None) -> list:
        """Irregular grid of rects in a frame rotated by `ang` about the centre, covering the image
        (or the part of it within the circle `within` = (x, y, radius))."""
        d, rng, out = math.hypot(self.w, self.h) / 2 + cell, self.rng, []
        y = -d
        while y < d:
            rh, x = cell * rng.uniform(0.6, 1.4), -d
            while x < d:
                rw = cell * rng.uniform(0.5, 1.8)
                ((cx, cy),) = rotate([(x + rw / 2, y + rh / 2)], ang, self.w / 2, self.h / 2)
                near = -cell < cx < self.w + cell and -cell < cy < self.h + cell
                if near and (within is None or math.hypot(cx - within[0], cy - within[1]) < within[2]):
                    out.append((x, y, x + rw, y + rh))
                x += rw
            y += rh
        return out

    def poly(self, rect: tuple[float, float, float, float], ang: float, inset: float = 0.0) -> list:
        x0, y0, x1, y1 = rect
        return rotate(rect_poly(x0 + inset, y0 + inset, x1 - inset, y1 - inset), ang, self.w / 2, self.h / 2)


def draw_river(cv: Canvas, ink: int, width: float) -> None:
    """Meandering river across the scene: a damped random walk around a main heading."""
    rng, w, h = cv.rng, cv.w, cv.h
    ang, d = rng.uniform(0, 2 * math.pi), math.hypot(w, h) / 2 + width
    off = rng.uniform(-0.3, 0.3) * min(w, h)
    x, y = w / 2 - math.cos(ang) * d - math.sin(ang) * off, h / 2 - math.sin(ang) * d + math.cos(ang) * off
    step, heading, pts = max(4.0, d / 30), ang, []
    for _ in range(int(2 * d / step) + 2):
        pts.append((x, y))
        heading = ang + min(max(heading - ang + rng.normal(0, 0.35), -1.1), 1.1)
        x, y = x + math.cos(heading) * step, y + math.sin(heading) * step
    cv.draw.line(pts, fill=ink, width=max(1, round(width)), joint="curve")


def draw_coast(cv: Canvas, ink: int) -> None:
    """Sea along one side of the scene behind a wavy shoreline."""
    rng, w, h = cv.rng, cv.w, cv.h
    side = int(rng.integers(4))
    length, depth = (h, w) if side < 2 else (w, h)
    vs = depth * rng.uniform(0.25, 0.5) + np.cumsum(rng.normal(0, depth * 0.02, 24))
    pts = [(0.0, 0.0), *zip(np.linspace(0, length, 24).tolist(), vs.tolist(), strict=True), (length, 0.0)]
    place = [lambda u, v: (v, u), lambda u, v: (w - v, u), lambda u, v: (u, v), lambda u, v: (u, h - v)][side]
    cv.draw.polygon([place(u, v) for u, v in pts], fill=ink)
