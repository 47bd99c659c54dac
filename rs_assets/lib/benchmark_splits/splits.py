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
    return _cell_label(math.floor(lat / deg), math.floor(lon / deg), deg)


def _cell_label(row: int, col: int, deg: float) -> str:
    return f"{'N' if row >= 0 else 'S'}{abs(row) * deg:g}{'E' if col >= 0 else 'W'}{abs(col) * deg:g}"


def geo_cells(
    lat: pa.Array | pa.ChunkedArray, lon: pa.Array | pa.ChunkedArray, deg: float = GEO_CELL_DEG
) -> pa.Array:
    """`geo_cell` of every (lat, lon) pair, vectorised: cell indices with numpy, one label per distinct
    cell (a few thousand at most, against millions of rows), spread back by index."""
    la = pc.fill_null(pc.cast(lat, pa.float64()), math.nan).to_numpy(zero_copy_only=False)
    lo = pc.fill_null(pc.cast(lon, pa.float64()), math.nan).to_numpy(zero_copy_only=False)
    known = np.isfinite(la) & np.isfinite(lo)
    cells = np.stack([np.floor(la[known] / deg), np.floor(lo[known] / deg)], axis=1)
    distinct, index = np.unique(cells, axis=0, return_inverse=True)
    labels = np.array([_cell_label(int(r), int(c), deg) for r, c in distinct] or [""], dtype=object)
    out = np.full(len(la), None, dtype=object)
    out[known] = labels[index.reshape(-1)] if len(index) else []
    return pa.array(out, pa.string())


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
