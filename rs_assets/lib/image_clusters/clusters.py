"""Exact and near-duplicate image clusters over the whole kept pool (DESIGN 2, 6b, 9).

Exact duplicates share an `image_id` (sha256 of the bytes) and become one row; near duplicates are
pairs of 64-bit pHashes within `threshold` bits, joined transitively (union-find).

Search: generalised pigeonhole ("multi-index hashing with band subsets"). Split the 64 bits into `m`
bands; a pair differing in at most `t` bits differs in at most `t` bands, so it agrees EXACTLY on at
least `m - t` of them. For each of the C(m, t) subsets of `m - t` bands we group hashes on that exact
key (numpy's O(n) radix sort; one sort per subset prefix, then a cheap stable re-sort by the last band)
and verify every candidate pair with a popcount; subsets run on threads (numpy sorts drop the GIL).
Recall is guaranteed (every pair with d <= t shares some key), no approximation.

Why not plain t+1 bands: at t=8 that is 9 bands of ~7 bits, 128 values per band, so 1M random hashes
give ~4e9 candidate pairs per band. Wider keys cost more subsets: with m bands the key has ~64(m-t)/m
bits and there are C(m, t) subsets. `_choose_bands` picks m from a cost model (subsets x (pass over N
+ expected candidates)); at t=8, N=1M that is m=12: 495 passes with 20-24 bit keys and ~0.5M
candidates each (~20 s on 2 cores), against ~5e11 pairs (~30 core-min) for brute force. Lower
thresholds are cheaper (t=6: 84 passes). Identical hashes are collapsed first, so a flood of equal
hashes never becomes quadratic.

Default threshold 8 (of 64 bits): re-encodes, resizes, small crops and watermark/colour tweaks of one
scene land within ~2-8 bits, while unrelated tiles of a 1M pool sit near 32 (random pairs <= 8 bits:
~1e-10). Higher values start merging distinct but uniform RS tiles (sea, desert) and cost more search.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from itertools import combinations
from math import comb

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.lib.stages import stage

DEFAULT_THRESHOLD = 8
_BITS = 64
_MISSING_PRIORITY = np.iinfo(np.int64).max
_SUBSET_OVERHEAD = 20_000.0  # fixed Python/numpy cost of one subset pass, same unit
_PASS_COST = 1.0  # one hash's share of a sort pass, in units of one candidate-pair check (measured)

GEO_COLUMNS = ("lat", "lon", "geo_cell")  # added by tables.with_geo_cells
# the image_clusters stage's columns as the clustering writes them (before geo cells)
OUTPUT_SCHEMA = pa.schema([f for f in stage("image_clusters").full_schema if f.name not in GEO_COLUMNS])


def _bands(m: int) -> list[tuple[int, int]]:
    """(shift, width) of `m` near-equal bands covering 64 bits."""
    widths = [_BITS // m + (1 if i < _BITS % m else 0) for i in range(m)]
    shifts = np.cumsum([0, *widths[:-1]]).tolist()
    return list(zip(shifts, widths, strict=True))


def _choose_bands(n: int, t: int) -> int:
    """Number of bands minimising the modelled cost; 0 means brute force is cheaper.

    Cost per subset: one pass over n hashes (radix sort, ~ _PASS_COST candidate checks each) plus the
    expected candidate pairs of a key of 64(m-t)/m bits. Keys stay within 32 bits.
    """
    best_m, best_cost = 0, n * (n - 1) / 2
    for m in range(t + 1, _BITS + 1):
        key_bits = _BITS * (m - t) / m
        if max(w for _, w in _bands(m)) * (m - t) > 32 or comb(m, t) > 5000:
            break
        cost = comb(m, t) * (_SUBSET_OVERHEAD + _PASS_COST * n + n * n / 2 / 2.0**key_bits)
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per element of a uint64 array."""
    return np.bitwise_count(x).astype(np.int32)


def _pairs_in_runs(
    keys: np.ndarray, idx: np.ndarray, hashes: np.ndarray, t: int
) -> tuple[np.ndarray, np.ndarray]:
    """Verified (i, j) among positions of sorted `keys` that share a key; cost ~ candidate pairs."""
    out_i, out_j = [], []
    active = np.flatnonzero(keys[1:] == keys[:-1])
    shift = 1
    while active.size:
        a, b = idx[active], idx[active + shift]
        ok = popcount(hashes[a] ^ hashes[b]) <= t
        out_i.append(a[ok])
        out_j.append(b[ok])
        shift += 1
        active = active[active + shift < keys.size]
        active = active[keys[active + shift] == keys[active]]
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def _radix_order(key: np.ndarray, key_bits: int) -> np.ndarray:
    """Stable order of a uint32 key: LSD radix via numpy's O(n) stable sort of 8/16-bit digits."""
    if key_bits <= 8:
        return np.argsort(key.astype(np.uint8), kind="stable")
    order = np.argsort((key & np.uint32(0xFFFF)).astype(np.uint16), kind="stable")
    if key_bits > 16:
        order = order[np.argsort((key[order] >> np.uint32(16)).astype(np.uint16), kind="stable")]
    return order


def _prefix_pairs(
    hashes: np.ndarray,
    values: list[np.ndarray],
    widths: list[int],
    prefix: tuple[int, ...],
    lasts: list[int],
    t: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pairs within `t` bits agreeing on the bands `prefix + (last,)`, for each `last`.

    One sort by the prefix key serves every last band: a stable sort of that order by the last band
    alone leaves equal (prefix, last) keys contiguous, and sorting a <= 8-bit digit is cheap.
    """
    key = np.zeros(hashes.size, np.uint32)
    for b in prefix:
        key = (key << np.uint32(widths[b])) | values[b]
    order = _radix_order(key, sum(widths[b] for b in prefix)) if prefix else np.arange(hashes.size)
    key = key[order]
    found = []
    for d in lasts:
        last = values[d][order]
        by_last = _radix_order(last, widths[d])
        full = (key[by_last] << np.uint32(widths[d])) | last[by_last]
        found.append(_pairs_in_runs(full, order[by_last], hashes, t))
    return found


def _brute_pairs(hashes: np.ndarray, t: int, block: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    out_i, out_j = [], []
    for start in range(0, hashes.size, block):
        rows = hashes[start : start + block]
        d = popcount(rows[:, None] ^ hashes[None, :])
        i, j = np.nonzero(d <= t)
        i = i + start
        keep = i < j
        out_i.append(i[keep])
        out_j.append(j[keep])
    if not out_i:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def near_pairs(
    hashes: np.ndarray, threshold: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All index pairs (i < j) of distinct uint64 `hashes` within `threshold` bits; exact recall."""
    hashes = np.ascontiguousarray(hashes, dtype=np.uint64)
    n = hashes.size
    if n < 2 or threshold <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    m = _choose_bands(n, threshold)
    if m == 0:
        return _brute_pairs(hashes, threshold)
    bands = _bands(m)
    widths = [w for _, w in bands]
    mask = [np.uint64((1 << w) - 1) for w in widths]
    values = [((hashes >> np.uint64(s)) & mask[b]).astype(np.uint32) for b, (s, _) in enumerate(bands)]
    lasts: dict[tuple[int, ...], list[int]] = {}
    for chosen in combinations(range(m), m - threshold):
        lasts.setdefault(chosen[:-1], []).append(chosen[-1])
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:  # numpy sorts drop the GIL
        found = [
            f
            for fs in pool.map(lambda p: _prefix_pairs(hashes, values, widths, p, lasts[p], threshold), lasts)
            for f in fs
        ]
    i = np.concatenate([f[0] for f in found])
    j = np.concatenate([f[1] for f in found])
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    pair = np.unique(lo.astype(np.int64) * n + hi)
    return pair // n, pair % n


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Union-find over edges, vectorised: each node's label is the smallest node of its component."""
    parent = np.arange(n, dtype=np.int64)
    while i.size:
        pi, pj = parent[i], parent[j]
        differ = pi != pj
        if not differ.any():
            break
        i, j, pi, pj = i[differ], j[differ], pi[differ], pj[differ]
        np.minimum.at(parent, np.maximum(pi, pj), np.minimum(pi, pj))
        while True:  # pointer jumping until every node points at its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    return parent


def _representatives(rows: pa.Table) -> pa.Table:
    """One row per image_id: its record with the lowest (priority, source, year, record_id)."""
    priority = rows["priority"].cast(pa.int64()).fill_null(_MISSING_PRIORITY)
    rows = rows.set_column(rows.schema.get_field_index("priority"), "priority", priority)
    keys = ("image_id", "priority", "source", "year", "record_id")
    ordered = rows.sort_by([(c, "ascending") for c in keys])
    ids = ordered["image_id"].combine_chunks()
    first = np.ones(len(ids), bool)
    if len(ids) > 1:
        first[1:] = pc.not_equal(ids[1:], ids[:-1]).to_numpy(zero_copy_only=False)
    return ordered.filter(pa.array(first))


def _hash_columns(images: pa.Table) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(phash as uint64 column, has-hash mask, phash as numpy with 0 for missing)."""
    column = images["phash"].cast(pa.uint64())
    has_hash = pc.is_valid(column).to_numpy(zero_copy_only=False)
    return column, has_hash, column.fill_null(0).to_numpy(zero_copy_only=False).astype(np.uint64)


def cluster_images(rows: pa.Table, threshold: int = DEFAULT_THRESHOLD) -> pa.Table:
    """image_clusters rows for the kept pool rows of all partitions; independent of input row order.

    `rows`: record_id, image_id, source, year, phash (uint64, null = hash unknown: a singleton unless
    its bytes repeat), width, height, priority (lower wins). cluster_id = smallest image_id in the
    cluster; canonical = largest width*height, then lowest priority, then smallest image_id.
    """
    if rows.num_rows == 0:
        return OUTPUT_SCHEMA.empty_table()
    images = _representatives(rows)
    n = images.num_rows
    _, has_hash, phash = _hash_columns(images)
    uniq, inverse = np.unique(phash[has_hash], return_inverse=True)
    ui, uj = near_pairs(uniq, threshold)
    hash_label = components(uniq.size, ui, uj)
    node = np.arange(n, dtype=np.int64)  # hashless images are their own component
    node[has_hash] = n + hash_label[inverse]
    return _cluster_table(images, node)


def extend_clusters(
    rows: pa.Table, previous: pa.Table, threshold: int = DEFAULT_THRESHOLD
) -> pa.Table | None:
    """`cluster_images(rows)`, computed by matching only the images `previous` lacks against it.

    `previous` is `cluster_images` (same threshold) of an earlier pool. When each of its images is still
    in `rows` with the same hash, every pair among them was already joined, so its clusters plus the
    pairs that touch a new image give exactly the full result's components (and the same table: cluster
    ids, canonicals and sizes follow from the components alone). Otherwise (an image left the pool, a
    hash changed) returns None: the caller rebuilds in full.
    """
    if rows.num_rows == 0:
        return None
    images = _representatives(rows)
    n = images.num_rows
    ids = images["image_id"]
    at = pc.index_in(previous["image_id"], value_set=ids)
    root = pc.index_in(previous["cluster_id"], value_set=ids)
    if at.null_count or root.null_count:
        return None
    at_np, root_np = at.to_numpy(), root.to_numpy()
    column, has_hash, phash = _hash_columns(images)
    if not column.take(at).combine_chunks().equals(previous["phash"].cast(pa.uint64()).combine_chunks()):
        return None
    old = np.zeros(n, bool)
    old[at_np] = True
    if (~old).sum() > old.sum():  # mostly new: one full pass is cheaper
        return None
    edges_i, edges_j = [at_np.astype(np.int64)], [root_np.astype(np.int64)]  # old clusters, as stars
    old_ix, new_ix = np.flatnonzero(old & has_hash), np.flatnonzero(~old & has_hash)
    old_uniq, old_first = np.unique(phash[old_ix], return_index=True)
    new_uniq, new_first, new_inverse = np.unique(phash[new_ix], return_index=True, return_inverse=True)
    edges_i.append(new_ix)  # identical new hashes: one node
    edges_j.append(new_ix[new_first][new_inverse])
    qi, bj = near_pairs_between(new_uniq, old_uniq, threshold)
    edges_i.append(new_ix[new_first][qi])
    edges_j.append(old_ix[old_first][bj])
    ui, uj = near_pairs(new_uniq, threshold)
    edges_i.append(new_ix[new_first][ui])
    edges_j.append(new_ix[new_first][uj])
    return _cluster_table(images, components(n, np.concatenate(edges_i), np.concatenate(edges_j)))


def _choose_query_bands(n: int, k: int, t: int) -> int:
    """Bands for matching `k` queries against `n` hashes: one pass over n per subset of m - t bands plus
    the expected candidates of its key (k n / 2^bits); keys stay within 24 bits (the lookup table)."""
    best_m, best_cost = 0, float(k) * n
    for m in range(t + 1, _BITS + 1):
        if max(w for _, w in _bands(m)) * (m - t) > 24 or comb(m, t) > 5000:
            break
        cost = comb(m, t) * (_SUBSET_OVERHEAD + _PASS_COST * n + k * n / 2.0 ** (_BITS * (m - t) / m))
        if cost < best_cost:
            best_m, best_cost = m, cost
    return best_m


def _subset_matches(
    q_values: list[np.ndarray],
    b_values: list[np.ndarray],
    widths: list[int],
    chosen: tuple[int, ...],
    queries: np.ndarray,
    base: np.ndarray,
    t: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Verified (query, base) pairs agreeing exactly on the bands `chosen`: the base keys are looked up
    in a table of the query keys (one pass over the base, no sort of it)."""
    qk = np.zeros(queries.size, np.uint32)
    bk = np.zeros(base.size, np.uint32)
    for b in chosen:
        qk = (qk << np.uint32(widths[b])) | q_values[b]
        bk = (bk << np.uint32(widths[b])) | b_values[b]
    table = np.zeros(1 << sum(widths[b] for b in chosen), bool)
    table[qk] = True
    hit = np.flatnonzero(table[bk])
    q_order = np.argsort(qk, kind="stable")
    sorted_keys = qk[q_order]
    lo = np.searchsorted(sorted_keys, bk[hit], "left")
    count = np.searchsorted(sorted_keys, bk[hit], "right") - lo
    b_idx = np.repeat(hit, count)
    offset = np.arange(b_idx.size) - np.repeat(np.cumsum(count) - count, count)
    q_idx = q_order[np.repeat(lo, count) + offset]
    ok = popcount(queries[q_idx] ^ base[b_idx]) <= t
    return q_idx[ok], b_idx[ok]


def near_pairs_between(
    queries: np.ndarray, base: np.ndarray, threshold: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All (query index, base index) pairs within `threshold` bits (distance 0 included); exact recall
    by the same band-subset pigeonhole as `near_pairs`, with fewer, shorter keys: the few queries make
    candidates cheap, so the cost is the passes over the base."""
    queries = np.ascontiguousarray(queries, dtype=np.uint64)
    base = np.ascontiguousarray(base, dtype=np.uint64)
    empty = np.empty(0, np.int64), np.empty(0, np.int64)
    if queries.size == 0 or base.size == 0:
        return empty
    m = _choose_query_bands(base.size, queries.size, threshold) if threshold > 0 else 0
    if m == 0:  # brute force (or exact equality at threshold 0)
        i, j = _brute_between(queries, base, threshold)
        return i, j
    bands = _bands(m)
    widths = [w for _, w in bands]
    masks = [np.uint64((1 << w) - 1) for w in widths]
    q_values = [((queries >> np.uint64(s)) & masks[b]).astype(np.uint32) for b, (s, _) in enumerate(bands)]
    b_values = [((base >> np.uint64(s)) & masks[b]).astype(np.uint32) for b, (s, _) in enumerate(bands)]
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        found = list(
            pool.map(
                lambda c: _subset_matches(q_values, b_values, widths, c, queries, base, threshold),
                combinations(range(m), m - threshold),
            )
        )
    pair = np.unique(
        np.concatenate([f[0] for f in found]) * base.size + np.concatenate([f[1] for f in found])
    )
    return pair // base.size, pair % base.size


def _brute_between(
    queries: np.ndarray, base: np.ndarray, t: int, block: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    out_i, out_j = [], []
    for start in range(0, queries.size, block):
        i, j = np.nonzero(popcount(queries[start : start + block, None] ^ base[None, :]) <= t)
        out_i.append(i + start)
        out_j.append(j)
    return np.concatenate(out_i).astype(np.int64), np.concatenate(out_j).astype(np.int64)


def _cluster_table(images: pa.Table, node: np.ndarray) -> pa.Table:
    """The image_clusters rows of `images` (sorted by image_id) given any component label per image."""
    n = images.num_rows
    _, comp = np.unique(node, return_inverse=True)
    phash_col, has_hash, phash = _hash_columns(images)
    # images are sorted by image_id, so the smallest index of a component names its cluster
    first_member = np.full(comp.max() + 1, n, np.int64)
    np.minimum.at(first_member, comp, np.arange(n))
    width = images["width"].cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    height = images["height"].cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
    priority = images["priority"].to_numpy(zero_copy_only=False)
    order = np.lexsort((np.arange(n), priority, -(width * height), comp))
    is_first = np.ones(n, bool)
    is_first[1:] = comp[order][1:] != comp[order][:-1]
    canonical_of = np.empty(comp.max() + 1, np.int64)
    canonical_of[comp[order][is_first]] = order[is_first]
    canonical = canonical_of[comp]
    size = np.bincount(comp)[comp].astype(np.int32)
    hamming = popcount(phash ^ phash[canonical])

    ids = images["image_id"]
    return pa.table(
        {
            "image_id": ids,
            "cluster_id": ids.take(pa.array(first_member[comp])),
            "is_canonical": pa.array(canonical == np.arange(n)),
            "cluster_size": pa.array(size, pa.int32()),
            "record_id": images["record_id"],
            "source": images["source"],
            "year": images["year"].cast(pa.int32()),
            "phash": phash_col,
            "hamming_to_canonical": pa.array(hamming, pa.int32(), mask=~has_hash),
            "width": images["width"].cast(pa.int32()),
            "height": images["height"].cast(pa.int32()),
        },
        schema=OUTPUT_SCHEMA,
    )


__all__ = [
    "DEFAULT_THRESHOLD",
    "cluster_images",
    "components",
    "extend_clusters",
    "near_pairs",
    "near_pairs_between",
    "popcount",
]
