"""One synthetic scene: land cover painted by archetype, then objects placed where they can be."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PIL import Image, ImageChops, ImageDraw

from rs_assets.lib.raw_scrape.synthetic.canvas import (
    BUILT_UP,
    CLASSES,
    CODE,
    HULL,
    HULLS,
    PLANE,
    ROOFS,
    TONES,
    Canvas,
    bbox_of,
    draw_coast,
    draw_river,
    pick,
    rect_poly,
    rotate,
    smooth,
)


def _paint(cv: Canvas, arch: str) -> tuple[set[str], list, list, list[dict]]:
    """Land cover of one archetype: returns features, urban blocks, apron (for objects) and pivot boxes."""
    rng, w, h, px, feats = cv.rng, cv.w, cv.h, cv.px, set()
    q = max(2, w // 4), max(2, h // 4)  # noise at quarter resolution, upsampled in C
    field = 255 * (0.75 * smooth(rng, *q, 4) + 0.25 * smooth(rng, *q, 16))
    field = Image.fromarray(field.astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    fit = math.sqrt(w * h / 160)  # floor on cell size: bounds the polygons drawn per scene
    crops = [cv.ink("cropland") for _ in range(10)]
    if arch in ("agri", "delta") or (arch == "pivots" and rng.random() < 0.5):
        ang = rng.uniform(-0.6, 0.6) if rng.random() < 0.6 else 0.0
        for rect in cv.grid(px(rng.uniform(150, 500), fit, 0.7 * max(w, h)), ang):
            if rng.random() < 0.9:  # the rest stays fallow; the 1 px inset leaves field margins
                cv.draw.polygon(cv.poly(rect, ang, 1.0), fill=pick(rng, crops))
    patches = {
        "forest": [("grassland", 0.0, 0.22), ("bare", 0.0, 0.1)],
        "pivots": [],
        "snow": [("forest", 0.0, 0.3), ("bare", 0.3, 0.42)],
        "desert": [("bare", 0.72, 1.0)],
    }
    for cls, lo, hi in patches.get(arch, [("forest", 0.78, 1.0)]):
        cv.patch(field, lo, hi, cv.ink(cls))
    blocks: list = []
    if arch in BUILT_UP or (arch in ("agri", "delta") and rng.random() < 0.3):
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
            cv.draw.polygon(cv.poly(rect, ang, road / 2), fill=pick(rng, green if park else shades))
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
                    cv.draw.ellipse(box, fill=pick(rng, crops))
                    start = rng.uniform(0, 360)  # a harvested or fallow sector, as real pivots show
                    cv.draw.pieslice(box, start, start + rng.uniform(60, 240), fill=pick(rng, crops))
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
        draw_coast(cv, water)
    rivers = {"delta": 3, "agri": 0.4, "forest": 0.6, "urban": 0.35, "snow": 0.3}.get(arch, 0)
    for k in range(math.ceil(rivers)):
        if rng.random() < rivers - k:
            feats.add("river")
            draw_river(cv, water, px(rng.uniform(20, 300), 2, min(w, h) / 6) / (1 + k))
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
        cv.draw.polygon(rotate(rect_poly(-half, -wid / 2, half, wid / 2), ang, cx, cy), fill=cv.ink("road"))
        cv.draw.polygon(
            rotate(rect_poly(-alen / 2, off, alen / 2, off + depth), ang, cx, cy),
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
    allowed = np.zeros(len(CLASSES), bool)
    allowed[[CODE[c] for c in classes]] = True
    return float(allowed[cmap[y1:y2, x1:x2]].mean()) >= frac


def _objects(img: Image.Image, cmap: np.ndarray, cv: Canvas, arch: str, blocks: list, apron: list) -> list:
    """Draw buildings, storage tanks, ships and aircraft where the land cover allows them; return boxes."""
    rng, w, h, px, draw, out = cv.rng, cv.w, cv.h, cv.px, ImageDraw.Draw(img), []
    land = tuple(c for c in TONES if c != "water")
    for k in rng.permutation(len(blocks))[:40].tolist() if cv.gsd <= 3 else []:
        (x0, y0, x1, y1), ang, inset = blocks[k]
        room = min(x1 - x0, y1 - y0) - 2 * inset
        for _ in range(min(12, int(rng.integers(1, 6) + room // 60)) if room >= 10 and len(out) < 60 else 0):
            bw = px(rng.uniform(10, 35), 4, room * 0.45)
            bh = bw * rng.uniform(0.5, 1.0)
            lx, ly = rng.uniform(x0 + inset, x1 - inset - bw), rng.uniform(y0 + inset, y1 - inset - bh)
            poly = cv.poly((lx, ly, lx + bw, ly + bh), ang)
            box = bbox_of(poly)
            if _apart(box, [o["bbox"] for o in out]) and _on(cmap, box, ("urban",), 0.95):
                sh = max(1.0, bw * 0.15)  # cast shadow, sun from the north-west
                draw.polygon([(x + sh, y + sh) for x, y in poly], fill=(44, 44, 48))
                draw.polygon(poly, fill=pick(rng, ROOFS))
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
    wet = np.flatnonzero(cmap == CODE["water"])
    want, ships = (int(rng.integers(3, 11)) if arch == "port" else int(rng.integers(0, 4))), []
    for _ in range(want * 8 if cv.gsd <= 10 and wet.size else 0):
        y, x = divmod(int(pick(rng, wet)), w)
        length, heading = px(rng.uniform(30, 250), 8, min(w, h) / 3), rng.uniform(0, 2 * math.pi)
        hull = rotate([(a * length, b * length) for a, b in HULL], heading, x, y)
        box = bbox_of(hull)
        if len(ships) < want and _apart(box, ships) and _on(cmap, box, ("water",)):
            wake = rotate([(-0.5 * length, 0), (-1.6 * length, 0)], heading, x, y)
            if rng.random() < 0.4 and _on(cmap, bbox_of(wake), ("water",)):  # under way: a wake astern
                draw.line(wake, fill=(70, 92, 104), width=max(1, round(length * 0.08)))
            draw.polygon(hull, fill=pick(rng, HULLS))
            bridge = rect_poly(-0.45 * length, -0.05 * length, -0.25 * length, 0.05 * length)
            draw.polygon(rotate(bridge, heading, x, y), fill=(236, 236, 236))
            ships.append(box)
    out += [{"cls": "ship", "bbox": b} for b in ships]
    if cv.gsd <= 3 and apron:  # parked in a row on the apron, noses towards the runway
        cx, cy, ang, alen, off, depth, plane = apron
        n = min(8, int(alen // (1.3 * plane)))
        for k in range(n):
            pos = rotate([(-alen / 2 + (k + 0.5) * alen / n, off + depth / 2)], ang, cx, cy)[0]
            body = rotate([(a * plane, b * plane) for a, b in PLANE], ang - math.pi / 2, *pos)
            if _on(cmap, box := bbox_of(body), ("road",), 0.9):  # on the pavement, clear of buildings
                draw.polygon([(x + plane * 0.06, y + plane * 0.06) for x, y in body], fill=(60, 60, 62))
                draw.polygon(body, fill=(232, 232, 234))
                out.append({"cls": "aircraft", "bbox": box})
    return out


def make_scene(
    rng: np.random.Generator, w: int, h: int, arch: str, gsd: float, cloud: float
) -> dict[str, Any]:
    """Render one scene (land cover, texture, objects, clouds) with its class fractions and visible boxes.

    Per-pixel work stays in Pillow's C paths (palette lookup, channel add, composite): ~10 ms per 512 px.
    """
    base = {"forest": "forest", "desert": "bare", "snow": "snow"}.get(arch, "grassland")
    cv = Canvas(rng, w, h, gsd, "bare" if arch == "pivots" and rng.random() < 0.6 else base)
    feats, blocks, apron, objects = _paint(cv, arch)
    cmap = np.asarray(cv.img.point([CODE[c] for c in cv.classes] + [0] * (256 - len(cv.classes))))
    w2, h2 = (w + 1) // 2, (h + 1) // 2  # texture at half resolution: a ~2 px grain for half the work
    half = np.asarray(cv.img.resize((w2, h2), Image.Resampling.NEAREST))
    shade = rng.standard_normal((h2, w2), dtype=np.float32) * np.array(cv.amps, np.float32)[half]
    shade += 40 * (smooth(rng, w2, h2, 6) - 0.5)
    if arch == "desert":  # wind-aligned dune ridges, warped so they do not look ruled
        ang, period = rng.uniform(0, math.pi), min(max(200 / gsd, 7), 45)
        ramp = np.arange(w2)[None, :] * math.cos(ang) + np.arange(h2)[:, None] * math.sin(ang)
        dunes = np.sin(ramp * (2 * math.pi / period) + 8 * smooth(rng, w2, h2, 3))
        shade += 10 * dunes * (cmap[::2, ::2] == CODE["bare"])
    offset = Image.fromarray(np.clip(shade + 128, 0, 255).astype(np.uint8))
    offset = offset.resize((w, h), Image.Resampling.BILINEAR)
    pal = cv.img.convert("P")
    pal.putpalette(cv.colors)
    img = ImageChops.add(pal.convert("RGB"), offset.convert("RGB"), offset=-128)
    objects += _objects(img, cmap, cv, arch, blocks, apron)
    clear = np.ones((h, w), bool)
    if cloud > 0:  # soft blobs from three octaves, thresholded at the quantile that gives `cloud` coverage
        qw, qh = max(2, w // 4), max(2, h // 4)
        f = 0.6 * smooth(rng, qw, qh, 3) + 0.3 * smooth(rng, qw, qh, 8) + 0.1 * smooth(rng, qw, qh, 24)
        alpha = np.clip((f - np.quantile(f, 1 - cloud)) / 0.12 + 0.5, 0, 1)
        full = (w, h), Image.Resampling.BILINEAR
        mask = Image.fromarray((alpha * 255).astype(np.uint8)).resize(*full)
        white = Image.fromarray((222 + 30 * f).astype(np.uint8)).resize(*full).convert("RGB")
        img = Image.composite(white, img, mask)
        clear = np.asarray(mask) < 128
        # a box mostly under cloud is not visible: drop it rather than annotate what cannot be seen
        objects = [o for o in objects if _visible(clear, o["bbox"])]
    counts = np.bincount(cmap[clear], minlength=len(CLASSES)).astype(float)
    counts[CODE["urban"]] += counts[CODE["road"]]
    counts[CODE["road"]], counts[CODE["cloud"]] = 0, clear.size - clear.sum()
    cover = {c: round(float(n) / clear.size, 4) for c, n in zip(CLASSES, counts, strict=True)}
    return {
        "image": img,
        "objects": objects,
        "landcover": {c: v for c, v in cover.items() if v > 0},
        "cloud_cover": cover["cloud"],
        "feats": feats,
    }
