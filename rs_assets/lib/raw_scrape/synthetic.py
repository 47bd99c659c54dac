"""The embedded `kind: synthetic` source: procedural top-down RS scenes, so the demo runs offline.

Every record is a pure function of (source name, seed, year, index): a sha256-seeded numpy generator
draws region, sensor, land cover and objects; Pillow draws and encodes. Land cover is painted as
palette indices, so one raster gives both the colours and the exact class fractions. A small,
deterministic share of records carries the flaws real sources have (blank tiles, thumbnails, truncated
files, strips, re-acquisitions) so the downstream filters and dedup have work to do in the demo.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from rs_assets.lib.records import RawItem, stable_hash
from rs_assets.lib.sources import SyntheticSource

# (region, country, lat, lon, archetypes: repeats weight the draw)
REGIONS = [
    ("Central Valley", "United States", 36.7, -119.8, "agri agri pivots urban"),
    ("Nebraska Sandhills", "United States", 41.5, -99.5, "pivots pivots agri"),
    ("Kansas High Plains", "United States", 37.8, -100.9, "pivots agri"),
    ("Mississippi Delta", "United States", 32.5, -91.0, "agri delta forest"),
    ("Houston", "United States", 29.76, -95.37, "port urban airport"),
    ("Atlanta", "United States", 33.64, -84.43, "airport urban forest"),
    ("Saskatchewan prairie", "Canada", 51.0, -106.0, "agri agri snow"),
    ("Greenland west coast", "Greenland", 64.2, -51.7, "snow"),
    ("Amazon basin", "Brazil", -3.5, -62.0, "forest forest agri"),
    ("Pampas", "Argentina", -35.0, -61.0, "agri agri pivots"),
    ("Atacama", "Chile", -23.5, -68.5, "desert"),
    ("Netherlands polders", "Netherlands", 52.6, 5.3, "agri delta urban"),
    ("Rotterdam port", "Netherlands", 51.95, 4.1, "port port urban"),
    ("Paris Basin", "France", 48.5, 2.5, "agri urban airport"),
    ("Swiss Alps", "Switzerland", 46.5, 8.0, "snow snow forest"),
    ("Ukrainian steppe", "Ukraine", 49.0, 33.0, "agri"),
    ("Siberian taiga", "Russia", 60.0, 100.0, "forest snow"),
    ("Nile delta", "Egypt", 30.8, 31.0, "delta agri urban"),
    ("Sahara edge", "Mauritania", 20.5, -10.5, "desert desert pivots"),
    ("Lagos", "Nigeria", 6.45, 3.4, "urban port"),
    ("Congo basin", "DR Congo", 0.5, 20.0, "forest"),
    ("Wadi As-Sirhan", "Saudi Arabia", 30.0, 38.0, "pivots desert"),
    ("Dubai", "United Arab Emirates", 25.2, 55.3, "urban airport port desert"),
    ("Punjab", "India", 30.9, 75.8, "agri agri urban"),
    ("Ganges delta", "Bangladesh", 23.0, 90.0, "delta agri"),
    ("Mekong delta", "Vietnam", 10.0, 105.8, "delta agri"),
    ("Borneo", "Indonesia", 0.5, 114.0, "forest agri"),
    ("Shanghai", "China", 31.2, 121.5, "urban port airport"),
    ("Tokyo Bay", "Japan", 35.5, 139.8, "port urban"),
    ("Singapore Strait", "Singapore", 1.27, 103.8, "port urban"),
    ("Perth", "Australia", -31.95, 115.86, "urban agri airport"),
]
SENSORS = {
    "Sentinel-2 MSI": 10.0,
    "Landsat 8 OLI": 30.0,
    "WorldView-3": 0.3,
    "PlanetScope": 3.0,
    "aerial orthophoto": 0.5,
}
# flaw kind -> share of a year's records (rounded; at least one of each once per_year >= 20)
FLAWS = {"blank": 0.03, "thumbnail": 0.02, "truncated": 0.02, "strip": 0.02, "near_duplicate": 0.05}
CREDITS = "Synthetic scene, rs_assets demo (CC0)"
_BUILT_UP = ("urban", "port", "airport")
_SIDES, _SIDE_P = (256, 384, 512, 768, 1024), (0.15, 0.2, 0.35, 0.18, 0.12)
# land-cover class -> (natural-colour tones, texture amplitude); `road` counts as urban in the fractions
_TONES: dict[str, tuple[list[tuple[int, int, int]], float]] = {
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
_CLASSES = (*_TONES, "cloud")
_CODE = {c: k for k, c in enumerate(_CLASSES)}
_ROOFS = [(178, 84, 62), (204, 204, 200), (122, 124, 130), (88, 88, 94), (170, 150, 122)]
_HULLS = [(200, 200, 204), (60, 64, 70), (150, 50, 45), (110, 118, 128)]
_HULL = [(0.5, 0.0), (0.35, 0.08), (-0.5, 0.08), (-0.5, -0.08), (0.35, -0.08)]
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
_PLANE = _WING + [(x, -y) for x, y in reversed(_WING[1:-1])]
_NOUNS = {
    "building": "building",
    "storage_tank": "storage tank",
    "ship": "ship",
    "aircraft": "aircraft",
    "center_pivot": "center-pivot field",
}


def _pick(rng: np.random.Generator, seq: Any) -> Any:
    return seq[int(rng.integers(len(seq)))]


def _smooth(rng: np.random.Generator, w: int, h: int, cells: int) -> np.ndarray:
    """Low-frequency noise in [0, 1]: a coarse random grid upsampled bicubically."""
    gw, gh = max(2, round(cells * w / max(w, h))), max(2, round(cells * h / max(w, h)))
    grid = Image.fromarray(rng.random((gh, gw), dtype=np.float32))
    return np.clip(np.asarray(grid.resize((w, h), Image.Resampling.BICUBIC)), 0.0, 1.0)


def _rot(pts: list[tuple[float, float]], ang: float, cx: float, cy: float) -> list[tuple[float, float]]:
    c, s = math.cos(ang), math.sin(ang)
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _box(poly: list[tuple[float, float]]) -> list[int]:
    xs, ys = [p[0] for p in poly], [p[1] for p in poly]
    return [math.floor(min(xs)), math.floor(min(ys)), math.ceil(max(xs)), math.ceil(max(ys))]


class _Canvas:
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
        tones, amp = _TONES[cls]
        tone, jitter = color or _pick(self.rng, tones), self.rng.integers(-8, 9, 3).tolist()
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
                ((cx, cy),) = _rot([(x + rw / 2, y + rh / 2)], ang, self.w / 2, self.h / 2)
                near = -cell < cx < self.w + cell and -cell < cy < self.h + cell
                if near and (within is None or math.hypot(cx - within[0], cy - within[1]) < within[2]):
                    out.append((x, y, x + rw, y + rh))
                x += rw
            y += rh
        return out

    def poly(self, rect: tuple[float, float, float, float], ang: float, inset: float = 0.0) -> list:
        x0, y0, x1, y1 = rect
        return _rot(_rect(x0 + inset, y0 + inset, x1 - inset, y1 - inset), ang, self.w / 2, self.h / 2)


def _river(cv: _Canvas, ink: int, width: float) -> None:
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


def _coast(cv: _Canvas, ink: int) -> None:
    """Sea along one side of the scene behind a wavy shoreline."""
    rng, w, h = cv.rng, cv.w, cv.h
    side = int(rng.integers(4))
    length, depth = (h, w) if side < 2 else (w, h)
    vs = depth * rng.uniform(0.25, 0.5) + np.cumsum(rng.normal(0, depth * 0.02, 24))
    pts = [(0.0, 0.0), *zip(np.linspace(0, length, 24).tolist(), vs.tolist(), strict=True), (length, 0.0)]
    place = [lambda u, v: (v, u), lambda u, v: (w - v, u), lambda u, v: (u, v), lambda u, v: (u, h - v)][side]
    cv.draw.polygon([place(u, v) for u, v in pts], fill=ink)


def _paint(cv: _Canvas, arch: str) -> tuple[set[str], list, list, list[dict]]:
    """Land cover of one archetype: returns features, urban blocks, apron (for objects) and pivot boxes."""
    rng, w, h, px, feats = cv.rng, cv.w, cv.h, cv.px, set()
    q = max(2, w // 4), max(2, h // 4)  # noise at quarter resolution, upsampled in C
    field = 255 * (0.75 * _smooth(rng, *q, 4) + 0.25 * _smooth(rng, *q, 16))
    field = Image.fromarray(field.astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    fit = math.sqrt(w * h / 160)  # floor on cell size: bounds the polygons drawn per scene
    crops = [cv.ink("cropland") for _ in range(10)]
    if arch in ("agri", "delta") or (arch == "pivots" and rng.random() < 0.5):
        ang = rng.uniform(-0.6, 0.6) if rng.random() < 0.6 else 0.0
        for rect in cv.grid(px(rng.uniform(150, 500), fit, 0.7 * max(w, h)), ang):
            if rng.random() < 0.9:  # the rest stays fallow; the 1 px inset leaves field margins
                cv.draw.polygon(cv.poly(rect, ang, 1.0), fill=_pick(rng, crops))
    patches = {
        "forest": [("grassland", 0.0, 0.22), ("bare", 0.0, 0.1)],
        "pivots": [],
        "snow": [("forest", 0.0, 0.3), ("bare", 0.3, 0.42)],
        "desert": [("bare", 0.72, 1.0)],
    }
    for cls, lo, hi in patches.get(arch, [("forest", 0.78, 1.0)]):
        cv.patch(field, lo, hi, cv.ink(cls))
    blocks: list = []
    if arch in _BUILT_UP or (arch in ("agri", "delta") and rng.random() < 0.3):
        ang, road = (rng.uniform(-0.5, 0.5) if rng.random() < 0.5 else 0.0), px(rng.uniform(8, 20))
        # a whole city, the terminal district along one edge of an airport, or a village in farmland
        within = {"urban": None, "port": None, "airport": (w / 2, -0.6 * h, 0.9 * h)}.get(
            arch, (rng.uniform(0, w), rng.uniform(0, h), 0.35 * max(w, h))
        )
        shades, green, road_ink = [cv.ink("urban") for _ in range(4)], [cv.ink("grassland")], cv.ink("road")
        green.append(cv.ink("forest"))
        for rect in cv.grid(px(rng.uniform(60, 150), max(fit, 3 * road + 6), 0.9 * max(w, h)), ang, within):
            cv.draw.polygon(cv.poly(rect, ang), fill=road_ink)
            park = rng.random() < 0.12
            cv.draw.polygon(cv.poly(rect, ang, road / 2), fill=_pick(rng, green if park else shades))
            if not park:
                blocks.append((rect, ang, road / 2))
    pivots: list[dict] = []
    if cv.gsd >= 3 and (arch == "pivots" or (arch in ("desert", "agri") and rng.random() < 0.25)):
        r = px(rng.uniform(200, 400), 8, min(w, h) / 3)
        step = 2 * r + max(2.0, 0.15 * r)
        for cy in np.arange(rng.uniform(0, step), h, step).tolist():
            for cx in np.arange(rng.uniform(0, step), w, step).tolist():
                box = [math.floor(cx - r), math.floor(cy - r), math.ceil(cx + r), math.ceil(cy + r)]
                inside = box[2] <= w and box[3] <= h and box[0] >= 0 and box[1] >= 0
                if inside and len(pivots) < 30 and rng.random() < 0.8:
                    cv.draw.ellipse(box, fill=_pick(rng, crops))
                    start = rng.uniform(0, 360)  # a harvested or fallow sector, as real pivots show
                    cv.draw.pieslice(box, start, start + rng.uniform(60, 240), fill=_pick(rng, crops))
                    pivots.append({"cls": "center_pivot", "bbox": box})
    water = cv.ink("water")
    if (arch in ("forest", "snow") and rng.random() < 0.3) or (arch == "agri" and rng.random() < 0.15):
        feats.add("lake")
        cx, cy, rad = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, rng.uniform(0.1, 0.3) * min(w, h)
        ts = np.linspace(0, 2 * math.pi, 25)[:-1]
        rs = rad * (1 + 0.25 * np.sin(ts * 3 + rng.uniform(0, 6)))
        shore = zip((cx + rs * np.cos(ts)).tolist(), (cy + rs * np.sin(ts)).tolist(), strict=True)
        cv.draw.polygon(list(shore), fill=water)
    if arch == "port" or (arch == "delta" and rng.random() < 0.4):
        feats.add("coast")
        _coast(cv, water)
    rivers = {"delta": 3, "agri": 0.4, "forest": 0.6, "urban": 0.35, "snow": 0.3}.get(arch, 0)
    for k in range(math.ceil(rivers)):
        if rng.random() < rivers - k:
            feats.add("river")
            _river(cv, water, px(rng.uniform(20, 300), 2, min(w, h) / 6) / (1 + k))
    apron = []
    if arch == "airport":
        feats.add("runway")
        half, wid = px(rng.uniform(1000, 1800)), px(rng.uniform(45, 60), 2)
        plane = px(rng.uniform(35, 70), 8, min(w, h) / 4)
        depth = max(px(rng.uniform(120, 200), 1, 0.25 * min(w, h)), 1.4 * plane)
        off = px(rng.uniform(200, 320), wid / 2 + 4, 0.3 * min(w, h))
        alen = min(px(rng.uniform(400, 900)), 2 * half, 0.8 * max(w, h))
        # the apron is in frame; the runway parallel to it may not be at very high resolution
        ang, ax, ay = rng.uniform(0, math.pi), w * rng.uniform(0.3, 0.7), h * rng.uniform(0.3, 0.7)
        cx, cy = ax + math.sin(ang) * (off + depth / 2), ay - math.cos(ang) * (off + depth / 2)
        cv.draw.polygon(_rot(_rect(-half, -wid / 2, half, wid / 2), ang, cx, cy), fill=cv.ink("road"))
        cv.draw.polygon(
            _rot(_rect(-alen / 2, off, alen / 2, off + depth), ang, cx, cy),
            fill=cv.ink("road", (176, 174, 168)),
        )
        apron = [cx, cy, ang, alen, off, depth, plane]
    return feats, blocks, apron, pivots


def _visible(clear: np.ndarray, box: list[int]) -> bool:
    return bool(clear[box[1] : box[3], box[0] : box[2]].mean() > 0.5)


def _apart(box: list[int], others: list[list[int]]) -> bool:
    return all(box[2] < o[0] or box[0] > o[2] or box[3] < o[1] or box[1] > o[3] for o in others)


def _on(cmap: np.ndarray, box: list[int], classes: tuple[str, ...], frac: float = 1.0) -> bool:
    """Whether `box` lies inside the image and at least `frac` of its pixels are of `classes`."""
    x1, y1, x2, y2 = box
    if x1 < 0 or y1 < 0 or x2 > cmap.shape[1] or y2 > cmap.shape[0] or x2 <= x1 or y2 <= y1:
        return False
    allowed = np.zeros(len(_CLASSES), bool)
    allowed[[_CODE[c] for c in classes]] = True
    return float(allowed[cmap[y1:y2, x1:x2]].mean()) >= frac


def _objects(img: Image.Image, cmap: np.ndarray, cv: _Canvas, arch: str, blocks: list, apron: list) -> list:
    """Draw buildings, storage tanks, ships and aircraft where the land cover allows them; return boxes."""
    rng, w, h, px, draw, out = cv.rng, cv.w, cv.h, cv.px, ImageDraw.Draw(img), []
    land = tuple(c for c in _TONES if c != "water")
    for k in rng.permutation(len(blocks))[:40].tolist() if cv.gsd <= 3 else []:
        (x0, y0, x1, y1), ang, inset = blocks[k]
        room = min(x1 - x0, y1 - y0) - 2 * inset
        for _ in range(min(12, int(rng.integers(1, 6) + room // 60)) if room >= 10 and len(out) < 60 else 0):
            bw = px(rng.uniform(10, 35), 4, room * 0.45)
            bh = bw * rng.uniform(0.5, 1.0)
            lx, ly = rng.uniform(x0 + inset, x1 - inset - bw), rng.uniform(y0 + inset, y1 - inset - bh)
            poly = cv.poly((lx, ly, lx + bw, ly + bh), ang)
            box = _box(poly)
            if _apart(box, [o["bbox"] for o in out]) and _on(cmap, box, ("urban",), 0.95):
                sh = max(1.0, bw * 0.15)  # cast shadow, sun from the north-west
                draw.polygon([(x + sh, y + sh) for x, y in poly], fill=(44, 44, 48))
                draw.polygon(poly, fill=_pick(rng, _ROOFS))
                out.append({"cls": "building", "bbox": box})
    if cv.gsd <= 10 and (arch == "port" or (arch == "urban" and rng.random() < 0.3)):
        d = px(rng.uniform(20, 70), 5, min(w, h) / 8)
        nx, ny = int(rng.integers(2, 5)), int(rng.integers(1, 4))
        for _ in range(10):  # a tank farm: a grid of tanks, all on land
            cx, cy = rng.uniform(0, max(1.0, w - nx * 1.5 * d)), rng.uniform(0, max(1.0, h - ny * 1.5 * d))
            boxes = [
                [
                    math.floor(cx + i * 1.5 * d),
                    math.floor(cy + j * 1.5 * d),
                    math.ceil(cx + i * 1.5 * d + d),
                    math.ceil(cy + j * 1.5 * d + d),
                ]
                for i in range(nx)
                for j in range(ny)
            ]
            if all(_on(cmap, b, land) and _apart(b, [o["bbox"] for o in out]) for b in boxes):
                ring = max(1, round(d * 0.12))
                for b in boxes:
                    draw.ellipse([b[0] + ring, b[1] + ring, b[2] + ring, b[3] + ring], fill=(40, 40, 44))
                    draw.ellipse(b, fill=(214, 214, 208))
                    draw.ellipse([b[0] + ring, b[1] + ring, b[2] - ring, b[3] - ring], fill=(190, 190, 184))
                    out.append({"cls": "storage_tank", "bbox": b})
                break
    wet = np.flatnonzero(cmap == _CODE["water"])
    want, ships = (int(rng.integers(3, 11)) if arch == "port" else int(rng.integers(0, 4))), []
    for _ in range(want * 8 if cv.gsd <= 10 and wet.size else 0):
        y, x = divmod(int(_pick(rng, wet)), w)
        length, heading = px(rng.uniform(30, 250), 8, min(w, h) / 3), rng.uniform(0, 2 * math.pi)
        hull = _rot([(a * length, b * length) for a, b in _HULL], heading, x, y)
        box = _box(hull)
        if len(ships) < want and _apart(box, ships) and _on(cmap, box, ("water",)):
            wake = _rot([(-0.5 * length, 0), (-1.6 * length, 0)], heading, x, y)
            if rng.random() < 0.4 and _on(cmap, _box(wake), ("water",)):  # under way: a wake astern
                draw.line(wake, fill=(70, 92, 104), width=max(1, round(length * 0.08)))
            draw.polygon(hull, fill=_pick(rng, _HULLS))
            bridge = _rect(-0.45 * length, -0.05 * length, -0.25 * length, 0.05 * length)
            draw.polygon(_rot(bridge, heading, x, y), fill=(236, 236, 236))
            ships.append(box)
    out += [{"cls": "ship", "bbox": b} for b in ships]
    if cv.gsd <= 3 and apron:  # parked in a row on the apron, noses towards the runway
        cx, cy, ang, alen, off, depth, plane = apron
        n = min(8, int(alen // (1.3 * plane)))
        for k in range(n):
            pos = _rot([(-alen / 2 + (k + 0.5) * alen / n, off + depth / 2)], ang, cx, cy)[0]
            body = _rot([(a * plane, b * plane) for a, b in _PLANE], ang - math.pi / 2, *pos)
            if _on(cmap, box := _box(body), ("road",), 0.9):  # on the pavement, clear of buildings
                draw.polygon([(x + plane * 0.06, y + plane * 0.06) for x, y in body], fill=(60, 60, 62))
                draw.polygon(body, fill=(232, 232, 234))
                out.append({"cls": "aircraft", "bbox": box})
    return out


def _scene(rng: np.random.Generator, w: int, h: int, arch: str, gsd: float, cloud: float) -> dict[str, Any]:
    """Render one scene (land cover, texture, objects, clouds) with its class fractions and visible boxes.

    Per-pixel work stays in Pillow's C paths (palette lookup, channel add, composite): ~10 ms per 512 px.
    """
    base = {"forest": "forest", "desert": "bare", "snow": "snow"}.get(arch, "grassland")
    cv = _Canvas(rng, w, h, gsd, "bare" if arch == "pivots" and rng.random() < 0.6 else base)
    feats, blocks, apron, objects = _paint(cv, arch)
    cmap = np.asarray(cv.img.point([_CODE[c] for c in cv.classes] + [0] * (256 - len(cv.classes))))
    w2, h2 = (w + 1) // 2, (h + 1) // 2  # texture at half resolution: a ~2 px grain for half the work
    half = np.asarray(cv.img.resize((w2, h2), Image.Resampling.NEAREST))
    shade = rng.standard_normal((h2, w2), dtype=np.float32) * np.array(cv.amps, np.float32)[half]
    shade += 40 * (_smooth(rng, w2, h2, 6) - 0.5)
    if arch == "desert":  # wind-aligned dune ridges, warped so they do not look ruled
        ang, period = rng.uniform(0, math.pi), min(max(200 / gsd, 7), 45)
        ramp = np.arange(w2)[None, :] * math.cos(ang) + np.arange(h2)[:, None] * math.sin(ang)
        dunes = np.sin(ramp * (2 * math.pi / period) + 8 * _smooth(rng, w2, h2, 3))
        shade += 10 * dunes * (cmap[::2, ::2] == _CODE["bare"])
    offset = Image.fromarray(np.clip(shade + 128, 0, 255).astype(np.uint8))
    offset = offset.resize((w, h), Image.Resampling.BILINEAR)
    pal = cv.img.convert("P")
    pal.putpalette(cv.colors)
    img = ImageChops.add(pal.convert("RGB"), offset.convert("RGB"), offset=-128)
    objects += _objects(img, cmap, cv, arch, blocks, apron)
    clear = np.ones((h, w), bool)
    if cloud > 0:  # soft blobs from three octaves, thresholded at the quantile that gives `cloud` coverage
        qw, qh = max(2, w // 4), max(2, h // 4)
        f = 0.6 * _smooth(rng, qw, qh, 3) + 0.3 * _smooth(rng, qw, qh, 8) + 0.1 * _smooth(rng, qw, qh, 24)
        alpha = np.clip((f - np.quantile(f, 1 - cloud)) / 0.12 + 0.5, 0, 1)
        full = (w, h), Image.Resampling.BILINEAR
        mask = Image.fromarray((alpha * 255).astype(np.uint8)).resize(*full)
        white = Image.fromarray((222 + 30 * f).astype(np.uint8)).resize(*full).convert("RGB")
        img = Image.composite(white, img, mask)
        clear = np.asarray(mask) < 128
        # a box mostly under cloud is not visible: drop it rather than annotate what cannot be seen
        objects = [o for o in objects if _visible(clear, o["bbox"])]
    counts = np.bincount(cmap[clear], minlength=len(_CLASSES)).astype(float)
    counts[_CODE["urban"]] += counts[_CODE["road"]]
    counts[_CODE["road"]], counts[_CODE["cloud"]] = 0, clear.size - clear.sum()
    cover = {c: round(float(n) / clear.size, 4) for c, n in zip(_CLASSES, counts, strict=True)}
    return {
        "image": img,
        "objects": objects,
        "landcover": {c: v for c, v in cover.items() if v > 0},
        "cloud_cover": cover["cloud"],
        "feats": feats,
    }


def _meta(rng: np.random.Generator, year: int) -> dict[str, Any]:
    """Where, when and by what a scene was acquired, plus its raster size and file format."""
    region, country, lat, lon, archs = _pick(rng, REGIONS)
    arch = _pick(rng, archs.split())
    weights = (0.15, 0.0, 0.35, 0.2, 0.3) if arch in _BUILT_UP else (0.4, 0.25, 0.0, 0.25, 0.1)
    sensor = str(rng.choice(list(SENSORS), p=weights))
    start = datetime(year, 1, 1, tzinfo=UTC)
    span = int((datetime(year + 1, 1, 1, tzinfo=UTC) - start).total_seconds())
    side = int(rng.choice(_SIDES, p=_SIDE_P))
    other = [s for s in _SIDES if s != side and max(s, side) <= 2 * min(s, side)]
    height = side if rng.random() < 0.8 else int(_pick(rng, other))
    r, r2 = rng.random(), rng.random()  # PNG for chips only, as benchmark sets ship them (and it is fast)
    return {
        "region": region,
        "country": country,
        "arch": arch,
        "sensor": sensor,
        "gsd": SENSORS[sensor],
        "lat": round(lat + rng.uniform(-0.4, 0.4), 5),
        "lon": round(lon + rng.uniform(-0.4, 0.4), 5),
        "captured_at": start + timedelta(seconds=int(rng.integers(0, span))),
        "cloud": 0.0 if r < 0.6 else rng.uniform(0.01, 0.15) if r < 0.85 else rng.uniform(0.15, 0.6),
        "w": side,
        "h": height,
        "fmt": "PNG" if max(side, height) <= 512 and r2 < 0.38 else "JPEG",
    }


def _seed(name: str, source: SyntheticSource, year: int, i: int) -> int:
    """Scene seed from a stable hash; 60 bits so it also fits a Parquet int64 column."""
    return int(stable_hash("synthetic", name, source.seed, year, i, length=15), 16)


def _flaw_plan(name: str, source: SyntheticSource, year: int) -> dict[int, tuple[str, int]]:
    """{index: (flaw kind, original index for re-acquisitions)} for one year.

    Index 0 is always clean, so every re-acquisition has an earlier clean original in the same year.
    """
    n, rng = source.per_year, np.random.default_rng(_seed(name, source, year, -1))
    slots, plan = iter(rng.permutation(np.arange(1, n)).tolist()), {}
    for kind, share in FLAWS.items():
        for _ in range(max(round(share * n), 1 if n >= 20 else 0)):
            plan[next(slots)] = (kind, -1)
    for i in sorted(plan):
        if plan[i][0] == "near_duplicate":
            plan[i] = ("near_duplicate", int(_pick(rng, [j for j in range(i) if j not in plan])))
    return plan


def _scaled(objects: list[dict], fx: float, fy: float) -> list[dict]:
    return [
        {
            "cls": o["cls"],
            "bbox": [
                math.floor(o["bbox"][0] * fx),
                math.floor(o["bbox"][1] * fy),
                math.ceil(o["bbox"][2] * fx),
                math.ceil(o["bbox"][3] * fy),
            ],
        }
        for o in objects
    ]


def _describe(m: dict[str, Any], sc: dict[str, Any]) -> tuple[list[str], str, str]:
    """Scene labels (dominant covers, then object-driven), a catalogue title and a short description."""
    feats, arch, cover, cloud = sc["feats"], m["arch"], sc["landcover"], sc["cloud_cover"]
    counts = Counter(o["cls"] for o in sc["objects"])
    named = {
        "cropland": "farmland",
        "forest": "forest",
        "grassland": "meadow",
        "snow": "snow",
        "cloud": "cloud",
        "bare": "desert" if arch == "desert" else "bare land",
        "urban": "industrial area" if arch == "port" else "residential area",
        "water": "sea" if "coast" in feats else "lake" if "lake" in feats else "river",
    }
    ranked = sorted(cover.items(), key=lambda kv: -kv[1])[:3]
    labels = [named[c] for c, v in ranked if v >= 0.1 and c in named]
    flags = {
        "river": "river" in feats and cover.get("water", 0) > 0.01,
        "airport": "runway" in feats,
        "harbor": arch == "port",
        "center pivot irrigation": "center_pivot" in counts,
        "storage tanks": "storage_tank" in counts,
        "dense residential": counts["building"] >= 15,
    }
    labels += [lab for lab, on in flags.items() if on and lab not in labels]
    where, when = f"{m['region']}, {m['country']}", m["captured_at"]
    title = f"{' and '.join(labels[:2]).capitalize() or 'Scene'} near {where}"
    text = (
        f"{where}: {m['sensor']} scene acquired {when.day} {when:%B %Y} at {m['gsd']:g} m ground "
        f"sampling distance" + (f", showing {', '.join(labels)}." if labels else ".")
    )
    seen = [f"{n} {_NOUNS[c]}{'s' if n > 1 and c != 'aircraft' else ''}" for c, n in counts.items()]
    notes = [f"visible: {', '.join(seen)}"] if seen else []
    notes += [f"cloud cover about {cloud:.0%}"] if cloud >= 0.05 else []
    notes_text = "; ".join(notes)
    return labels, title, f"{text} {notes_text[:1].upper()}{notes_text[1:]}." if notes else text


def _item(name: str, source: SyntheticSource, year: int, i: int, flaw: tuple[str, int] | None) -> RawItem:
    """Record `i` of a year, clean or with its planned flaw."""
    kind, orig = flaw or ("", -1)
    seed = _seed(name, source, year, i)
    rng = np.random.default_rng(seed)
    m, quality, extra = _meta(rng, year), 90, ({"synthetic_flaw": kind} if kind else {})
    if kind == "near_duplicate":  # the same footprint re-acquired: another date, resized, recompressed
        seed = _seed(name, source, year, orig)
        orig_rng = np.random.default_rng(seed)
        m0 = _meta(orig_rng, year)
        sc = _scene(orig_rng, m0["w"], m0["h"], m0["arch"], m0["gsd"], m0["cloud"])
        m, f = {**m0, "captured_at": m["captured_at"], "fmt": "JPEG"}, rng.uniform(0.85, 0.97)
        sc["image"] = sc["image"].resize((round(m0["w"] * f), round(m0["h"] * f)), Image.Resampling.BILINEAR)
        sc["objects"] = _scaled(sc["objects"], sc["image"].width / m0["w"], sc["image"].height / m0["h"])
        quality, extra["duplicate_of"] = int(rng.integers(65, 86)), f"{name}-{year}-{orig:05d}"
    elif kind == "blank":  # fully clouded or a no-data fill: near-constant pixels
        clouded = rng.random() < 0.5
        level = rng.integers(-2, 3, (m["h"], m["w"], 1)) + (np.array([236, 238, 241]) if clouded else 0)
        sc = {
            "image": Image.fromarray(np.clip(level, 0, 255).astype(np.uint8) * np.ones(3, np.uint8)),
            "objects": [],
            "landcover": {"cloud" if clouded else "nodata": 1.0},
            "cloud_cover": 1.0 if clouded else 0.0,
            "feats": set(),
        }
    else:
        w, h = ((1024, 128) if rng.random() < 0.5 else (128, 1024)) if kind == "strip" else (m["w"], m["h"])
        sc = _scene(rng, *((384, 384) if kind == "thumbnail" else (w, h)), m["arch"], m["gsd"], m["cloud"])
        if kind == "thumbnail":
            sc["image"] = sc["image"].resize((48, 48), Image.Resampling.BOX)
            sc["objects"] = _scaled(sc["objects"], 1 / 8, 1 / 8)
        m["fmt"] = "JPEG" if kind == "truncated" else m["fmt"]
    buf = io.BytesIO()
    sc["image"].save(buf, m["fmt"], **({"quality": quality} if m["fmt"] == "JPEG" else {"compress_level": 1}))
    data = buf.getvalue()[: buf.tell() // 2] if kind == "truncated" else buf.getvalue()
    labels, title, text = _describe(m, sc)
    ext = "jpg" if m["fmt"] == "JPEG" else "png"
    return RawItem(
        native_id=f"{name}-{year}-{i:05d}",
        year=year,
        url=f"synthetic://{name}/{year}/{i:05d}.{ext}",
        title=title,
        text=text,
        credits=CREDITS,
        captured_at=m["captured_at"],
        lat=m["lat"],
        lon=m["lon"],
        sensor=m["sensor"],
        gsd_m=m["gsd"],
        cloud_cover=sc["cloud_cover"],
        labels=labels,
        objects=sc["objects"],
        landcover=sc["landcover"],
        content=data,
        extra={"scene_seed": seed, "region": m["region"], "archetype": m["arch"], **extra},
    )


def generate(name: str, source: SyntheticSource, year: int) -> Iterator[RawItem]:
    """`source.per_year` records of `year` (none if the year is not configured), byte-identical per input."""
    if year not in source.years:
        return
    plan = _flaw_plan(name, source, year)
    for i in range(source.per_year):
        yield _item(name, source, year, i, plan.get(i))
