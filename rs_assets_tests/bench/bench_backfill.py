"""Backfill cost against partition count, and the image_clusters step at 1M images.

1. The clusters step (clustering + geo cells) of a backfill of N partitions of P images: once over the
   whole pool (today's order) against once per partition over the pool so far (the former
   partition_job, which rebuilt the global clusters in every run). Per-partition cost must stay flat.
2. 1M kept images: clustering, and geo cells columnar vs the former row loop, in the same run.
3. Incremental clustering at 1M and 5M hashes: one new partition (4,000 images) matched against the
   last table (`extend_clusters`) vs the full rebuild of the same pool (results asserted equal).

Run: `python -m rs_assets_tests.bench.bench_backfill [--quick]`.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pyarrow as pa

from rs_assets.lib.image_clusters.clusters import cluster_images, extend_clusters
from rs_assets.lib.image_clusters.tables import with_geo_cells
from rs_assets_tests.image_clusters.test_geo_cells import reference


def kept_pool(n: int, seed: int = 0) -> pa.Table:
    """n kept images, 10% of them near-duplicates (1-8 bits) of others, with coordinates."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, n, dtype=np.uint64)
    dupes = rng.choice(n, n // 10, replace=False)
    hashes[dupes] = hashes[rng.integers(0, n, dupes.size)] ^ (
        np.uint64(1) << rng.integers(0, 64, dupes.size).astype(np.uint64)
    )
    ids = [f"{k:012d}" for k in range(n)]
    lat = rng.uniform(-90, 90, n)
    lat[rng.random(n) < 0.1] = np.nan
    return pa.table(
        {
            "record_id": ids,
            "image_id": ids,
            "source": ["s"] * n,
            "year": pa.array([2020] * n, pa.int32()),
            "phash": pa.array(hashes, pa.uint64()),
            "width": pa.array([512] * n, pa.int32()),
            "height": pa.array([512] * n, pa.int32()),
            "lat": pa.array(lat, pa.float64(), from_pandas=True),
            "lon": pa.array(rng.uniform(-180, 180, n), pa.float64()),
            "priority": pa.array([100] * n, pa.int64()),
        }
    )


def clusters_step(kept: pa.Table) -> float:
    started = time.perf_counter()
    with_geo_cells(cluster_images(kept.drop_columns(["lat", "lon"]), threshold=8), kept)
    return time.perf_counter() - started


def bench_backfill_cost(counts: list[int], per_partition: int) -> None:
    pool = kept_pool(max(counts) * per_partition)
    for n in counts:
        once = clusters_step(pool.slice(0, n * per_partition))
        every = sum(clusters_step(pool.slice(0, k * per_partition)) for k in range(1, n + 1))
        print(
            f"[backfill] {n:3d} partitions x {per_partition:,} images: clusters once {once:6.2f} s "
            f"({once / n * 1e3:6.1f} ms/partition) vs in every partition run {every:7.2f} s "
            f"({every / n * 1e3:7.1f} ms/partition) -> {every / once:5.1f}x",
            flush=True,
        )


def bench_step(n: int) -> None:
    kept = kept_pool(n, seed=1)
    started = time.perf_counter()
    clusters = cluster_images(kept.drop_columns(["lat", "lon"]), threshold=8)
    cluster_s = time.perf_counter() - started
    started = time.perf_counter()
    new = with_geo_cells(clusters, kept)
    new_s = time.perf_counter() - started
    started = time.perf_counter()
    old = reference(clusters, kept)
    old_s = time.perf_counter() - started
    assert new["geo_cell"].equals(old["geo_cell"])
    print(
        f"[step] {n:,} kept images: clustering {cluster_s:.1f} s; geo cells columnar {new_s:.2f} s vs row "
        f"loop {old_s:.2f} s -> {old_s / new_s:.1f}x; step {cluster_s + old_s:.1f} s -> "
        f"{cluster_s + new_s:.1f} s",
        flush=True,
    )


def bench_incremental(n: int, new: int = 4000) -> None:
    rows = kept_pool(n, seed=2).drop_columns(["lat", "lon"])
    previous = cluster_images(rows.slice(0, n - new), threshold=8)
    started = time.perf_counter()
    full = cluster_images(rows, threshold=8)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    extended = extend_clusters(rows, previous, threshold=8)
    inc_s = time.perf_counter() - started
    assert extended is not None and extended.equals(full)
    print(
        f"[incremental] {n:,} hashes, {new:,} new: full rebuild {full_s:.1f} s vs extend the last table "
        f"{inc_s:.1f} s -> {full_s / inc_s:.1f}x",
        flush=True,
    )


def main() -> None:
    quick = "--quick" in sys.argv
    bench_backfill_cost([2, 4, 8] if quick else [4, 8, 16, 32], 1000 if quick else 4000)
    bench_step(100_000 if quick else 1_000_000)
    for n in [100_000] if quick else [1_000_000, 5_000_000]:
        bench_incremental(n)


if __name__ == "__main__":
    main()
