"""Leak-safe benchmark splits: a pure function of the cluster and its geo cell.

Near-duplicates share a cluster, so they never straddle splits; neighbouring scenes share a geo
cell, so spatial autocorrelation does not leak from train into test. New partitions never move an
existing image unless its cluster changes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.lib.records import stable_hash

SPLIT_SHARES = (("train", 0.7), ("val", 0.2), ("test", 0.1))
SPLITS = tuple(name for name, _ in SPLIT_SHARES)
GEO_CELL_DEG = 0.25


def geo_cell(lat: float | None, lon: float | None, deg: float = GEO_CELL_DEG) -> str | None:
    """`N37E121`-style label of the `deg`-degree cell containing (lat, lon); None without coordinates."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    return _half(math.floor(lat / deg), "NS", deg) + _half(math.floor(lon / deg), "EW", deg)


def _half(index: int, signs: str, deg: float) -> str:
    return f"{signs[0] if index >= 0 else signs[1]}{abs(index) * deg:g}"


def geo_cells(
    lat: pa.Array | pa.ChunkedArray, lon: pa.Array | pa.ChunkedArray, deg: float = GEO_CELL_DEG
) -> pa.Array:
    """`geo_cell` of every (lat, lon) pair, vectorised: cell indices with numpy, each distinct latitude
    row and longitude column labelled once (hundreds, against millions of rows), joined by index."""
    la = pc.fill_null(pc.cast(lat, pa.float64()), math.nan).to_numpy(zero_copy_only=False)
    lo = pc.fill_null(pc.cast(lon, pa.float64()), math.nan).to_numpy(zero_copy_only=False)
    known = np.isfinite(la) & np.isfinite(lo)
    halves = []
    for values, signs in ((la, "NS"), (lo, "EW")):
        distinct, index = np.unique(np.floor(values[known] / deg), return_inverse=True)
        labels = pa.array([_half(int(v), signs, deg) for v in distinct], pa.string())
        halves.append(labels.take(pa.array(index.reshape(-1), pa.int64())))
    joined = pc.binary_join_element_wise(*halves, "")
    positions = np.full(len(la), -1, np.int64)
    positions[known] = np.arange(int(known.sum()))
    return joined.take(pa.array(positions, pa.int64(), mask=~known))


def assign_split(cluster_id: str, cell: str | None) -> str:
    """The cluster's geo cell decides when known (spatial blocking), else the cluster id."""
    unit = f"cell:{cell}" if cell else f"cluster:{cluster_id}"
    u = int(stable_hash("split", unit), 16) / 16**16
    for name, share in SPLIT_SHARES:
        if u < share:
            return name
        u -= share
    return SPLIT_SHARES[-1][0]


def split_rows(clusters: pa.Table, record_ids: set[str]) -> list[dict[str, Any]]:
    """A row per image represented by one of `record_ids` (canonical or not: duplicates follow)."""
    mine = clusters.filter(pc.is_in(clusters["record_id"], pa.array(sorted(record_ids), pa.string())))
    return [
        {
            "image_id": r["image_id"],
            "record_id": r["record_id"],
            "cluster_id": r["cluster_id"],
            "source": r["source"],
            "year": r["year"],
            "geo_cell": r["geo_cell"],
            "is_canonical": r["is_canonical"],
            "split": assign_split(r["cluster_id"], r["geo_cell"]),
        }
        for r in mine.sort_by("image_id").to_pylist()
    ]
