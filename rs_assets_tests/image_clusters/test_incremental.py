"""Incremental clustering: extending the last table with new partitions gives exactly the full rebuild
(so clusters stay a pure function of the kept pool, whatever order partitions arrived in), and it
refuses (None: rebuild in full) when the pool lost an image or a hash changed."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rs_assets.lib.image_clusters.clusters import (
    cluster_images,
    extend_clusters,
    near_pairs_between,
    popcount,
)
from rs_assets_tests.image_clusters.test_clusters import planted


def pool(n: int, seed: int) -> pa.Table:
    """Kept rows whose hashes sit in tight groups (chains of near duplicates that new images can
    bridge), 5% without a hash, and 10% extra records re-publishing an image under another source."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**64, max(1, n // 15), dtype=np.uint64)
    noise = rng.integers(0, 2**64, (4, n), dtype=np.uint64)
    hashes = centres[rng.integers(0, centres.size, n)] ^ (noise[0] & noise[1] & noise[2] & noise[3])
    ids = [f"img{k:06d}" for k in range(n)]
    rows = pa.table(
        {
            "record_id": [f"r{k}" for k in range(n)],
            "image_id": ids,
            "source": ["a"] * n,
            "year": pa.array(rng.integers(2015, 2021, n), pa.int32()),
            "phash": pa.array(hashes, pa.uint64(), mask=rng.random(n) < 0.05),
            "width": pa.array(rng.choice([256, 512, 1024], n), pa.int32()),
            "height": pa.array([512] * n, pa.int32()),
            "priority": pa.array([100] * n, pa.int64()),
        }
    )
    again = rows.take(rng.integers(0, n, n // 10))
    k = again.num_rows
    again = (
        again.set_column(0, "record_id", pa.array([f"copy{i}" for i in range(k)]))
        .set_column(2, "source", pa.array(["b"] * k))
        .set_column(7, "priority", pa.array(rng.integers(0, 200, k), pa.int64()))
    )
    return pa.concat_tables([rows, again])


@pytest.mark.parametrize("t", [0, 4, 8, 10])
def test_extending_equals_full_rebuild_in_any_order(t: int) -> None:
    rows = pool(1500, seed=t)
    rng = np.random.default_rng(t)
    rows = rows.take(rng.permutation(rows.num_rows))
    first, later = rows.slice(0, 1100), rows.slice(1100)
    full = cluster_images(rows, t)
    previous = cluster_images(first, t)
    extended = extend_clusters(rows, previous, t)
    assert extended is not None and extended.equals(full)
    if t:  # new images bridged clusters of the previous table
        cluster_of = dict(zip(full["image_id"].to_pylist(), full["cluster_id"].to_pylist(), strict=True))
        merged = {cluster_of[i] for i in previous["image_id"].to_pylist()}
        assert len(merged) < len(set(previous["cluster_id"].to_pylist()))
    # another arrival order: the later rows and part of the first ones, then the rest
    mid = cluster_images(pa.concat_tables([later, first.slice(0, 700)]), t)
    reordered = extend_clusters(pa.concat_tables([first, later]), mid, t)
    assert reordered is not None and reordered.equals(full)


def test_a_changed_pool_is_rebuilt_in_full() -> None:
    rows = pool(400, seed=1)
    previous = cluster_images(rows, 8)
    gone = rows.filter(pa.compute.not_equal(rows["image_id"], previous["image_id"][0]))
    assert extend_clusters(gone, previous, 8) is None  # an image left the pool
    rehashed = rows.set_column(4, "phash", rows["phash"].fill_null(1))
    assert extend_clusters(rehashed, previous, 8) is None  # hashes changed (a new hash code)
    assert extend_clusters(rows, previous, 8).equals(previous)  # nothing new: the same table


@pytest.mark.parametrize("t", [0, 3, 8, 10])
def test_near_pairs_between_equals_brute_force(t: int) -> None:
    base = planted(20_000, 2_000, max(t, 1), seed=t)
    queries = np.unique(np.concatenate([base[:200] ^ np.uint64(5), base[-300:]]))
    qi, bj = near_pairs_between(queries, base, t)
    d = popcount(queries[:, None] ^ base[None, :])
    want = set(zip(*np.nonzero(d <= t), strict=True))
    assert set(zip(qi.tolist(), bj.tolist(), strict=True)) == {(int(i), int(j)) for i, j in want}
