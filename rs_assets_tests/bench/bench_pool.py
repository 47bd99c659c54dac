"""Benchmarks for filtered_pool and image_clusters (not tests).

Run: `python -m rs_assets_tests.bench.bench_pool [--quick]`.

1. pool cost per 1-MP JPEG (in process) vs a naive pass (full decode, RGB, imagehash.phash, sha256),
   net of the fixed cost of an empty partition; medians of alternating rounds; goal >= 3x. The last
   line printed is the verdict (`RESULT ...`).
2. clustering N pHashes with planted near duplicates: seconds, recall, brute force extrapolated.
3. peak RSS of pooling a partition of many small JPEGs (subprocess), at two sizes: flat = bounded.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time

import imagehash
import numpy as np
import pyarrow as pa
from PIL import Image

from rs_assets.lib.filtered_pool.driver import pool_partition
from rs_assets.lib.image_clusters.clusters import cluster_images, popcount
from rs_assets.lib.sources import parse_sources

POOL_GOAL = 3.0  # naive / ours, per image
SOURCE = parse_sources({"sources": {"bench": {"kind": "labeled", "path": "/x", "default_year": 2020}}})[
    "bench"
]


def jpeg(width: int, height: int, seed: int, quality: int = 85) -> bytes:
    """A photo-like JPEG: smooth structure plus mild sensor noise (~150-250 KB per MP at q85)."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray((rng.random((24, 32, 3)) * 255).astype(np.uint8)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    noise = rng.normal(0, 4, (height, width, 3))
    arr = np.clip(np.asarray(coarse, dtype=np.float32) + noise, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def raw_table(ids: list[str]) -> pa.Table:
    n = len(ids)
    return pa.table(
        {
            "record_id": [f"r{k}" for k in range(n)],
            "image_id": ids,
            "image_ext": ["jpg"] * n,
            "source": ["bench"] * n,
            "year": pa.array([2020] * n, pa.int32()),
            "status": ["ok"] * n,
            "text": [None] * n,
        }
    )


def naive(content: bytes) -> tuple[int, str]:
    img = Image.open(io.BytesIO(content)).convert("RGB")
    return int(str(imagehash.phash(img)), 16), hashlib.sha256(content).hexdigest()


def bench_pool_cost(n: int, rounds: int) -> float:
    """Median ms/img of ours (net of an empty partition) and of the naive pass, measured in alternating
    rounds over the same files; CPU time of this process (one core), so that other processes sharing the
    machine do not count, while any helper threads would. Returns the ratio."""
    files = {f"{k:064x}": jpeg(1155, 866, k) for k in range(n)}  # 1.0 MP
    ids = list(files)

    def ours(table_ids: list[str]) -> float:
        started = time.process_time()
        pool_partition(raw_table(table_ids), SOURCE, lambda i, e: files[i], lambda i, b: None, workers=1)
        return time.process_time() - started

    def base() -> float:
        started = time.process_time()
        for content in files.values():
            naive(content)
        return time.process_time() - started

    naive(files[ids[0]])  # warm up: imagehash imports scipy.fftpack on first use
    ours(ids[:2])
    fixed = statistics.median(ours([]) for _ in range(5))
    runs: dict[str, list[float]] = {"ours": [], "naive": []}
    for _ in range(rounds):
        runs["ours"].append((ours(ids) - fixed) / n)
        runs["naive"].append(base() / n)
    mine, theirs = statistics.median(runs["ours"]), statistics.median(runs["naive"])
    spread = "; ".join(f"{k} {min(v) * 1e3:.2f}-{max(v) * 1e3:.2f}" for k, v in runs.items())
    size = sum(map(len, files.values())) / n / 1024
    print(
        f"[pool] 1-MP JPEG ({size:.0f} KB) x{n}, CPU time on one core, median of {rounds} alternating "
        f"rounds: ours {mine * 1e3:.2f} ms/img (empty partition {fixed * 1e3:.1f} ms subtracted), naive "
        f"{theirs * 1e3:.2f} ms/img -> {theirs / mine:.2f}x (ranges ms/img: {spread})",
        flush=True,
    )
    return theirs / mine


def bench_clusters(n: int) -> None:
    rng = np.random.default_rng(0)
    copies = n // 10
    base = rng.integers(0, 2**64, n - copies, dtype=np.uint64)
    src = rng.integers(0, base.size, copies)
    near = base[src].copy()
    flips = rng.integers(1, 9, copies)  # 1..8 bits: all within the default threshold
    for k in range(copies):
        for b in rng.choice(64, flips[k], replace=False):
            near[k] ^= np.uint64(1) << np.uint64(b)
    hashes = np.concatenate([base, near])
    ids = [f"{k:012d}" for k in range(n)]
    rows = pa.table(
        {
            "record_id": ids,
            "image_id": ids,
            "source": ["s"] * n,
            "year": pa.array([2020] * n, pa.int32()),
            "phash": pa.array(hashes, pa.uint64()),
            "width": pa.array([512] * n, pa.int32()),
            "height": pa.array([512] * n, pa.int32()),
            "priority": pa.array([100] * n, pa.int64()),
        }
    )
    started = time.perf_counter()
    out = cluster_images(rows, threshold=8)
    seconds = time.perf_counter() - started
    cluster = out["cluster_id"].to_numpy(zero_copy_only=False)
    recall = float(np.mean(cluster[src] == cluster[base.size + np.arange(copies)]))
    sample = hashes[:500]
    started = time.perf_counter()
    for block in range(0, n, 20_000):
        _ = popcount(sample[:, None] ^ hashes[None, block : block + 20_000]) <= 8
    rate = sample.size * n / (time.perf_counter() - started)
    print(
        f"[clusters] {n:,} hashes, {copies:,} planted (1-8 bits): {seconds:.1f} s, recall {recall:.4f}, "
        f"{out.num_rows - len(set(cluster.tolist())):,} duplicates; brute force ~{n * n / 2 / rate:.0f} s "
        f"on one core ({rate / 1e6:.0f}M pairs/s)",
        flush=True,
    )


def _descendants_rss_mb(pid: int) -> list[float]:
    """VmRSS of every descendant process (Linux /proc): the pool workers hang off the forkserver."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    kids = [int(c) for c in fh.read().split()]
                todo += kids
                for kid in kids:
                    with open(f"/proc/{kid}/status") as fh:
                        rss = next(line for line in fh if line.startswith("VmRSS:"))
                    out.append(int(rss.split()[1]) / 1024)
        except (OSError, StopIteration):
            continue
    return out


def _rss_child(n: int) -> None:
    """Subprocess body: pool `n` small JPEGs made unique by a suffix after EOI; print peak RSS.

    Run before anything large in the parent: Linux carries ru_maxrss over fork+exec.
    """
    peak = {"worker": 0.0, "workers": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            sizes = _descendants_rss_mb(os.getpid())
            peak["worker"] = max(peak["worker"], max(sizes, default=0.0))
            peak["workers"] = max(peak["workers"], sum(sizes))

    threading.Thread(target=sample, daemon=True).start()
    content = jpeg(640, 480, 1, quality=85)
    ids = [f"{k:064x}" for k in range(n)]
    thumbs = [0]

    def put(image_id: str, data: bytes) -> None:
        thumbs[0] += len(data)

    started = time.perf_counter()
    pool = pool_partition(raw_table(ids), SOURCE, lambda i, e: content + bytes.fromhex(i), put)
    elapsed = time.perf_counter() - started
    done.set()
    print(
        json.dumps(
            {
                "rows": pool.num_rows,
                "kept": int(sum(pool["kept"].to_pylist())),
                "s": elapsed,
                "self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                **peak,
            }
        )
    )


def bench_rss(sizes: list[int]) -> None:
    for n in sizes:
        cmd = [sys.executable, "-m", "rs_assets_tests.bench.bench_pool", "--rss-child", str(n)]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"[rss] {n:,} images (640x480 JPEG), all cores: {r['s']:.1f} s ({n / r['s']:.0f} img/s), kept "
            f"{r['kept']:,}; peak RSS main {r['self_mb']:.0f} MB, workers {r['workers']:.0f} MB "
            f"(largest {r['worker']:.0f} MB, sampled)",
            flush=True,
        )


def main() -> None:
    if "--rss-child" in sys.argv:
        _rss_child(int(sys.argv[sys.argv.index("--rss-child") + 1]))
        return
    quick = "--quick" in sys.argv
    bench_rss([500, 2000] if quick else [2000, 20_000])  # first: a fat parent would inflate ru_maxrss
    ratio = bench_pool_cost(40, 5) if quick else bench_pool_cost(300, 5)
    bench_clusters(100_000 if quick else 1_000_000)
    verdict = "PASS" if ratio >= POOL_GOAL else "FAIL"
    print(f"RESULT pool cost: naive / ours = {ratio:.2f}x per 1-MP JPEG (goal >= {POOL_GOAL:g}x): {verdict}")


if __name__ == "__main__":
    main()
