"""raw_scrape on the `ray` executor (a local Ray instance, 2 CPUs) vs the local executor, same machine and
run: a pairs source whose loopback server adds 20 or 100 ms per image, a labeled folder of JPEGs, and a pairs
source held to 40 requests/s per host (the shared politeness actor must keep Ray at that pace, not 2x).
Prints throughput ratios ray/local. Run: python -m rs_assets_tests.bench.bench_ray [--quick]"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rs_assets.defs.raw_scrape.assets import scrape_local
from rs_assets.lib.lake import Lake
from rs_assets.lib.raw_scrape.sharded import scrape_sharded
from rs_assets.lib.sources import parse_sources
from rs_assets_tests.loopback_site import Site, image_bytes

DELAYS_S = (0.02, 0.1)
PACED_RPS = 40.0


def _pairs(tmp: Path, base: str, n: int, name: str, **over: Any) -> Any:
    path = tmp / f"{name}.jsonl"
    path.write_text(
        "\n".join(json.dumps({"url": f"{base}/img/{i}.jpg", "caption": "satellite scene"}) for i in range(n))
    )
    body = {"kind": "pairs", "path": str(path), "default_year": 2024, "allow_private_network": True, **over}
    return parse_sources({"sources": {name: body}})[name]


def _timed(fn: Any) -> tuple[float, int]:
    start = time.perf_counter()
    rows = fn().rows
    return time.perf_counter() - start, sum(r["status"] == "ok" for r in rows)


def _compare(label: str, name: str, source: Any, tmp: Path, shard_size: int) -> None:
    t_local, ok_local = _timed(lambda: scrape_local(name, source, 2024, Lake(str(tmp / f"{name}_local"))))
    t_ray, ok_ray = _timed(
        lambda: scrape_sharded(name, source, 2024, Lake(str(tmp / f"{name}_ray")), shard_size)
    )
    assert ok_local == ok_ray, (ok_local, ok_ray)
    print(
        f"{label:<34} local {ok_local / t_local:7.1f} img/s  ray {ok_ray / t_ray:7.1f} img/s  "
        f"ratio ray/local {t_local / t_ray:4.2f}x  ({ok_local} images)",
        flush=True,
    )


def main() -> int:
    import ray

    quick = "--quick" in sys.argv
    n_http, n_files = (200, 600) if quick else (800, 3000)
    site = Site()
    base = site.start()
    site.add("/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain")
    for i in range(n_http):
        site.add(f"/img/{i}.jpg", image_bytes(seed=i), "image/jpeg")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            ray.get(ray.remote(lambda: None).remote())  # workers up: Ray's start-up is not a shard's cost
            fast = {"requests_per_second": 1000, "max_concurrency": 32, "workers": 8}
            for delay in DELAYS_S:  # each shard task brings its own `workers` threads
                site.delay_s = delay
                name, n = f"fast{int(delay * 1000)}", n_http if delay == DELAYS_S[0] else n_http // 2
                label = f"pairs, {delay * 1000:.0f} ms/response"
                _compare(label, name, _pairs(tmp, base, n, name, **fast), tmp, 64)
            site.delay_s = 0.0
            folder = tmp / "ucm" / "scene"
            folder.mkdir(parents=True)
            for i in range(n_files):
                (folder / f"{i}.jpg").write_bytes(image_bytes(size=(256, 256), seed=i))
            labeled = parse_sources(
                {
                    "sources": {
                        "ucm": {
                            "kind": "labeled",
                            "format": "folders",
                            "path": str(tmp / "ucm"),
                            "default_year": 2024,
                        }
                    }
                }
            )["ucm"]
            _compare("labeled folder, 256px JPEG", "ucm", labeled, tmp, 512)
            paced = {"requests_per_second": PACED_RPS, "max_concurrency": 8, "workers": 8}
            n_paced = 80 if quick else 160
            source = _pairs(tmp, base, n_paced, "paced", **paced)
            site.log.clear()
            start = time.perf_counter()
            scrape_sharded("paced", source, 2024, Lake(str(tmp / "paced")), 16)
            elapsed = time.perf_counter() - start
            hits = sorted(h.at for h in site.log if h.path.startswith("/img/"))
            rate = (len(hits) - 1) / (hits[-1] - hits[0])
            print(
                f"{'pairs held to ' + str(int(PACED_RPS)) + ' req/s/host':<34} ray {rate:5.1f} req/s at the "
                f"server over {len(hits)} requests ({elapsed:.1f}s): "
                f"ratio to the limit {rate / PACED_RPS:4.2f}x "
                "(<= 1.0 wanted; per-worker limiters would reach ~2x)",
                flush=True,
            )
    finally:
        ray.shutdown()
        site.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
