"""caption_scores throughput: scores/s per signal family on 100k captions (`--quick`: 5k), single core.

Captions are offline-template texts over varied records plus planted faults (hallucinated ships, wrong
counts, German, winter in July), 10 per image, so every family does its real work.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from typing import Any

from rs_assets.lib.caption_scores.consistency import consistency_signals
from rs_assets.lib.caption_scores.duplicates import near_duplicates
from rs_assets.lib.caption_scores.language import language
from rs_assets.lib.caption_scores.select import select_image
from rs_assets.lib.caption_scores.text_quality import text_signals
from rs_assets.lib.captions.facts import record_facts
from rs_assets.lib.sources import SelectPolicy

TEMPLATES = (
    "The image showcases: a high-resolution Sentinel-2 image of {n} buildings near the river in {month}.",
    "An overhead view of farmland with {n} storage tanks and a road, captured in summer.",
    "Three ships are moored in the harbour next to {n} buildings.",
    "Ein Wohngebiet mit {n} Gebäuden an einem Fluss.",
    "A snowy winter scene with {n} houses and frozen fields.",
    "Cropland (60%) and water (20%) dominate the scene; {n} buildings sit at the top left.",
    "Click here to read more about this image of {n} buildings. All rights reserved.",
    "The scene is dominated by cropland, with water and a building at the center.",
    "buildings buildings buildings buildings buildings buildings",
    "A Landsat 8 image at 30 m resolution of forest and {n} buildings.",
)
PER_IMAGE = len(TEMPLATES)


def workload(captions: int) -> list[tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]]:
    images = []
    for i in range(captions // PER_IMAGE):
        n = 1 + i % 4
        rec = {
            "record_id": f"r{i}",
            "image_id": f"i{i}",
            "captured_at": datetime(2020, 1 + i % 12, 10, tzinfo=UTC),
            "lat": 48.0 - (i % 3) * 40,
            "lon": 11.0 + i % 50,
            "sensor": "Sentinel-2 MSI",
            "gsd_m": 10.0,
            "labels": ["residential"],
            "landcover": [{"cls": "cropland", "share": 0.6}, {"cls": "water", "share": 0.2}],
            "objects": [{"cls": "building", "x1": 1.0, "y1": 1.0, "x2": 5.0, "y2": 5.0}] * n,
            "width": 256,
            "height": 256,
        }
        caps = [
            {"caption_id": f"c{i}-{k}", "text": t.format(n=n, month="May")} for k, t in enumerate(TEMPLATES)
        ]
        images.append((rec, record_facts(rec), caps))
    return images


def main() -> None:
    total = 5_000 if "--quick" in sys.argv else 100_000
    images = workload(total)
    captions = len(images) * PER_IMAGE
    policy = SelectPolicy()
    language("warm up the model", "en")
    timings: dict[str, float] = {}

    def timed(name: str, fn: Any) -> list[Any]:
        started = time.process_time()
        out = [fn(rec, facts, caps) for rec, facts, caps in images]
        timings[name] = time.process_time() - started
        return out

    consistency = timed(
        "fact consistency (4 signals)",
        lambda rec, facts, caps: [consistency_signals(c["text"], rec, facts) for c in caps],
    )
    langs = timed("language id", lambda rec, facts, caps: [language(c["text"], "en") for c in caps])
    texts = timed(
        "repetition + boilerplate + length", lambda rec, facts, caps: [text_signals(c["text"]) for c in caps]
    )
    dups = timed("near-duplicates", lambda rec, facts, caps: near_duplicates(caps))
    signals = [
        [
            (c["caption_id"], {s.name: s for s in (*cs, lang, *ts, dup[c["caption_id"]])})
            for c, cs, lang, ts in zip(caps, con, lg, tx, strict=True)
        ]
        for (_, _, caps), con, lg, tx, dup in zip(images, consistency, langs, texts, dups, strict=True)
    ]
    started = time.process_time()
    decisions = [select_image(per_image, policy) for per_image in signals]
    timings["selection"] = time.process_time() - started
    print(f"{captions} captions, {len(images)} images, CPU seconds on one core:")
    for name, seconds in timings.items():
        print(f"  {name:36s} {seconds:7.2f}s  {captions / seconds:>10,.0f} captions/s")
    flat = [d.decision for per_image in decisions for d in per_image]
    print("  decisions:", {d: flat.count(d) for d in sorted(set(flat))})


if __name__ == "__main__":
    main()
