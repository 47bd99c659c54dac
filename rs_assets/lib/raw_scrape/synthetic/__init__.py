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
from PIL import Image

from rs_assets.lib.raw_scrape.synthetic.canvas import BUILT_UP, NOUNS, SIDE_P, SIDES, pick
from rs_assets.lib.raw_scrape.synthetic.scene import make_scene
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


def _meta(rng: np.random.Generator, year: int) -> dict[str, Any]:
    """Where, when and by what a scene was acquired, plus its raster size and file format."""
    region, country, lat, lon, archs = pick(rng, REGIONS)
    arch = pick(rng, archs.split())
    weights = (0.15, 0.0, 0.35, 0.2, 0.3) if arch in BUILT_UP else (0.4, 0.25, 0.0, 0.25, 0.1)
    sensor = str(rng.choice(list(SENSORS), p=weights))
    start = datetime(year, 1, 1, tzinfo=UTC)
    span = int((datetime(year + 1, 1, 1, tzinfo=UTC) - start).total_seconds())
    side = int(rng.choice(SIDES, p=SIDE_P))
    other = [s for s in SIDES if s != side and max(s, side) <= 2 * min(s, side)]
    height = side if rng.random() < 0.8 else int(pick(rng, other))
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
            plan[i] = ("near_duplicate", int(pick(rng, [j for j in range(i) if j not in plan])))
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
    seen = [f"{n} {NOUNS[c]}{'s' if n > 1 and c != 'aircraft' else ''}" for c, n in counts.items()]
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
        sc = make_scene(orig_rng, m0["w"], m0["h"], m0["arch"], m0["gsd"], m0["cloud"])
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
        sc = make_scene(
            rng, *((384, 384) if kind == "thumbnail" else (w, h)), m["arch"], m["gsd"], m["cloud"]
        )
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
