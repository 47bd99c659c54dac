"""image_clusters logic: exact recall vs brute force, order independence, canonical and id rules."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rs_assets.lib.image_clusters.clusters import cluster_images, components, near_pairs, popcount
from rs_assets.lib.stages import schema_problems, stage


def planted(n: int, copies: int, max_bits: int, seed: int = 0) -> np.ndarray:
    """n random hashes plus `copies` near copies (1..max_bits flipped bits) of random originals."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 2**64, n, dtype=np.uint64)
    near = base[rng.integers(0, n, copies)].copy()
    for k in range(copies):
        for b in rng.choice(64, rng.integers(1, max_bits + 1), replace=False):
            near[k] ^= np.uint64(1) << np.uint64(b)
    return np.unique(np.concatenate([base, near]))


def brute(hashes: np.ndarray, t: int) -> set[tuple[int, int]]:
    d = popcount(hashes[:, None] ^ hashes[None, :])
    i, j = np.nonzero(np.triu(d <= t, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("t", [0, 3, 6, 8, 10])
def test_near_pairs_equals_brute_force(t: int) -> None:
    hashes = planted(2500, 600, max(t, 1), seed=t)
    i, j = near_pairs(hashes, t)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute(hashes, t)


def test_band_search_path_exact() -> None:
    """Large enough that the band search (not brute force) runs, and clustered hashes (shared prefixes)."""
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 2**64, 40, dtype=np.uint64)
    noise = rng.integers(0, 2**64, 6000, dtype=np.uint64) & np.uint64(0x0F0F_0000_0000_F00F)
    hashes = np.unique(centres[rng.integers(0, 40, 6000)] ^ noise)
    i, j = near_pairs(hashes, 8)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute(hashes, 8)


def test_components() -> None:
    label = components(6, np.array([4, 1, 2]), np.array([5, 2, 3]))
    assert label.tolist() == [0, 1, 1, 1, 4, 4]


def pool_rows(hashes: list[int | None], **cols: list) -> pa.Table:
    n = len(hashes)
    data = {
        "record_id": [f"r{k:03d}" for k in range(n)],
        "image_id": [f"img{k:03d}" for k in range(n)],
        "source": ["s"] * n,
        "year": [2020] * n,
        "phash": hashes,
        "width": [100] * n,
        "height": [100] * n,
        "priority": [100] * n,
    }
    data.update(cols)
    return pa.table(
        data,
        schema=pa.schema(
            [
                ("record_id", pa.string()),
                ("image_id", pa.string()),
                ("source", pa.string()),
                ("year", pa.int32()),
                ("phash", pa.uint64()),
                ("width", pa.int32()),
                ("height", pa.int32()),
                ("priority", pa.int64()),
            ]
        ),
    )


def test_clusters_contract_and_rules() -> None:
    h = 0xF0F0_F0F0_0000_FFFF
    rows = pool_rows(
        [h, h ^ 0b111, h ^ 0b111 ^ (0b11 << 40), 0x1234_5678_9ABC_DEF0, None, h ^ (2**64 - 1)],
        width=[100, 400, 100, 100, 100, 100],
        height=[100, 300, 100, 100, 100, 100],
    )
    out = cluster_images(rows, threshold=8)
    assert schema_problems("image_clusters", out.schema) == []
    assert out.num_rows == 6
    by = {r["image_id"]: r for r in out.to_pylist()}
    # img000..img002 chain: 3 bits, then 2 more (5 from img000): one cluster, named by its smallest id
    assert {by[f"img00{k}"]["cluster_id"] for k in range(3)} == {"img000"}
    assert by["img001"]["is_canonical"] and by["img001"]["cluster_size"] == 3  # largest resolution
    assert by["img000"]["hamming_to_canonical"] == 3
    assert by["img003"]["cluster_size"] == by["img004"]["cluster_size"] == by["img005"]["cluster_size"] == 1
    assert by["img004"]["phash"] is None and by["img004"]["is_canonical"]


def test_canonical_tie_breaks_on_priority_then_id() -> None:
    h = 0xABCD_0000_1234_5678
    out = cluster_images(pool_rows([h, h ^ 1, h ^ 2], priority=[100, 5, 5])).to_pylist()
    assert [r["is_canonical"] for r in out] == [False, True, False]


def test_same_bytes_in_several_records_is_one_image() -> None:
    rows = pool_rows(
        [7, 7, 7],
        image_id=["same", "same", "other"],
        priority=[50, 10, 10],
        source=["b", "a", "a"],
        record_id=["x2", "x9", "x1"],
    )
    out = cluster_images(rows).to_pylist()
    assert len(out) == 2
    same = next(r for r in out if r["image_id"] == "same")
    assert same["record_id"] == "x9" and same["source"] == "a"  # lowest (priority, source, year, record_id)
    assert same["cluster_id"] == "other" and same["cluster_size"] == 2  # equal pHash: same cluster


def test_result_independent_of_row_order() -> None:
    hashes = planted(3000, 800, 8, seed=3)
    rng = np.random.default_rng(0)
    n = hashes.size
    rows = pool_rows(
        [int(x) for x in hashes],
        width=rng.integers(50, 500, n).tolist(),
        height=rng.integers(50, 500, n).tolist(),
        priority=rng.integers(0, 3, n).tolist(),
    )
    rows = pa.concat_tables(
        [rows, rows.slice(0, 200).set_column(0, "record_id", pa.array([f"dup{k}" for k in range(200)]))]
    )  # repeated images under other records
    expected = cluster_images(rows)
    assert expected.num_rows == n and expected["cluster_size"].to_numpy().max() > 1
    for seed in range(3):
        perm = np.random.default_rng(seed).permutation(rows.num_rows)
        assert cluster_images(rows.take(perm)).equals(expected)


def test_empty_input() -> None:
    out = cluster_images(pool_rows([]))
    assert out.num_rows == 0 and schema_problems("image_clusters", out.schema) == []
    assert set(stage("image_clusters").schema.names) <= set(out.column_names)
