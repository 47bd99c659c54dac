"""The columnar geo cells equal the row-by-row definition, on random coordinates with the awkward ones
(None, NaN, poles, the antimeridian, cell edges, negative zero)."""

from __future__ import annotations

import math
import random

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import GEO_CELL_DEG, geo_cell, geo_cells
from rs_assets.lib.image_clusters.tables import with_geo_cells

AWKWARD = [None, math.nan, math.inf, -math.inf, 90.0, -90.0, 180.0, -180.0, 0.0, -0.0, 0.25, -0.25, 1e-12]


def _coordinate(rng: random.Random, span: float) -> float | None:
    if rng.random() < 0.3:
        return rng.choice(AWKWARD)
    return rng.uniform(-span, span)


def reference(clusters: pa.Table, kept: pa.Table) -> pa.Table:
    """The former row loop, kept as the specification."""
    lat_lon_of = zip(kept["lat"].to_pylist(), kept["lon"].to_pylist(), strict=True)
    coords = dict(zip(kept["record_id"].to_pylist(), lat_lon_of, strict=True))
    rows = clusters.select(["record_id", "cluster_id", "is_canonical"]).to_pylist()
    lat_lon = [coords.get(r["record_id"], (None, None)) for r in rows]
    cell = {r["cluster_id"]: geo_cell(*ll) for r, ll in zip(rows, lat_lon, strict=True) if r["is_canonical"]}
    return (
        clusters.append_column("lat", pa.array([ll[0] for ll in lat_lon], pa.float64()))
        .append_column("lon", pa.array([ll[1] for ll in lat_lon], pa.float64()))
        .append_column("geo_cell", pa.array([cell.get(r["cluster_id"]) for r in rows], pa.string()))
    )


def test_geo_cells_equal_geo_cell_per_pair() -> None:
    rng = random.Random(11)
    lat = [_coordinate(rng, 90) for _ in range(5000)]
    lon = [_coordinate(rng, 180) for _ in range(5000)]
    for deg in (GEO_CELL_DEG, 1.0, 0.1):
        got = geo_cells(pa.array(lat, pa.float64()), pa.array(lon, pa.float64()), deg).to_pylist()
        assert got == [geo_cell(a, b, deg) for a, b in zip(lat, lon, strict=True)]
    assert geo_cells(pa.array([], pa.float64()), pa.array([], pa.float64())).to_pylist() == []
    assert geo_cells(pa.array([90.0, None]), pa.array([-180.0, 3.0])).to_pylist() == ["N90W180", None]


def test_with_geo_cells_matches_the_row_loop() -> None:
    rng = random.Random(5)
    n = 3000
    records = [f"r{i:05d}" for i in range(n)]
    kept = pa.table(
        {
            "record_id": records,
            "lat": pa.array([_coordinate(rng, 90) for _ in records], pa.float64()),
            "lon": pa.array([_coordinate(rng, 180) for _ in records], pa.float64()),
        }
    )
    # clusters in a shuffled order, some represented by records the pool no longer holds
    members = rng.sample([*records, *(f"gone{i}" for i in range(200))], n)
    cluster_of = [f"c{rng.randrange(n // 3):05d}" for _ in members]
    canonical, seen = [], set()
    for c in cluster_of:
        canonical.append(c not in seen)
        seen.add(c)
    clusters = pa.table(
        {
            "image_id": [f"i{i}" for i in range(n)],
            "cluster_id": cluster_of,
            "is_canonical": canonical,
            "record_id": members,
        }
    )
    got, want = with_geo_cells(clusters, kept), reference(clusters, kept)
    assert got.schema == want.schema
    assert _rows(got) == _rows(want) and got.num_rows == n
    assert with_geo_cells(clusters.slice(0, 0), kept).num_rows == 0


def _rows(table: pa.Table) -> list[dict]:
    """Rows with NaN spelled out (Python's == says NaN != NaN)."""

    def spelled(v: object) -> object:
        return "nan" if isinstance(v, float) and math.isnan(v) else v

    return [{k: spelled(v) for k, v in r.items()} for r in table.to_pylist()]
