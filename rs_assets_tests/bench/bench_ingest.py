"""Ingest throughput: 200 images from a loopback server adding 100 ms per response, concurrent pairs
ingest vs one-by-one sequential GETs. Target: >= 10x. Run: python -m rs_assets_tests.bench.bench_ingest"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.connectors import fetch_items
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes

N_IMAGES = 200
DELAY_S = 0.1
TARGET = 10.0


def main() -> int:
    site = Site(delay_s=DELAY_S)
    base = site.start()
    site.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    urls = []
    for n in range(N_IMAGES):
        site.add(f"/img/{n}.jpg", image_bytes(seed=n), "image/jpeg")
        urls.append(f"{base}/img/{n}.jpg")
    try:
        start = time.perf_counter()
        with httpx.Client(trust_env=False) as client:
            sequential = [client.get(u).content for u in urls]
        t_seq = time.perf_counter() - start

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "pairs.jsonl"
            path.write_text(
                "\n".join(
                    json.dumps({"url": u, "caption": f"satellite scene {n}"}) for n, u in enumerate(urls)
                )
            )
            source = parse_sources(
                {
                    "sources": {
                        "bench": {
                            "kind": "pairs",
                            "path": str(path),
                            "default_year": 2024,
                            "allow_private_network": True,
                            "requests_per_second": 1000,
                            "max_concurrency": 32,
                            "workers": 32,
                        }
                    }
                }
            )["bench"]
            start = time.perf_counter()
            items = list(fetch_items("bench", source, 2024, Lake(str(Path(tmp) / "lake"))))
            t_ingest = time.perf_counter() - start
    finally:
        site.stop()
    ok = sum(i.status == "ok" for i in items)
    assert ok == N_IMAGES and sorted(len(c) for c in sequential) == sorted(
        len(i.content or b"") for i in items
    )
    ratio = t_seq / t_ingest
    print(f"{N_IMAGES} images, +{DELAY_S * 1000:.0f} ms per response")
    print(f"sequential one-by-one : {t_seq:6.2f} s")
    print(f"pairs ingest (32 conc): {t_ingest:6.2f} s  ({ok} ok, robots.txt included)")
    print(f"speed-up              : {ratio:6.1f}x (target >= {TARGET:.0f}x)")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
