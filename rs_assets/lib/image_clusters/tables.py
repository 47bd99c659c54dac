"""The tables around the clustering: its input from every pool partition, geo cells, invariants."""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.lib.benchmark_splits.splits import geo_cells
from rs_assets.lib.code_versions import code_version
from rs_assets.lib.lake import Lake, table_key
from rs_assets.lib.stages import stage

POOL_COLUMNS = ["record_id", "image_id", "source", "year", "kept", "phash", "width", "height", "lat", "lon"]
UNKNOWN_SOURCE_PRIORITY = 1_000_000


def kept_pool(pool: pa.Table | None, priorities: Mapping[str, int]) -> pa.Table:
    """Kept pool rows (every partition) with their source's priority; a source no longer configured
    loses every canonical tie."""
    if pool is None:
        types = {f.name: f.type for f in stage("filtered_pool").full_schema}
        return pa.table(
            {c: pa.array([], type=types[c]) for c in POOL_COLUMNS if c != "kept"}
            | {"priority": pa.array([], pa.int64())}
        )
    kept = pool.filter(pc.field("kept")).drop_columns(["kept"])
    priority = [priorities.get(s, UNKNOWN_SOURCE_PRIORITY) for s in kept["source"].to_pylist()]
    return kept.append_column("priority", pa.array(priority, pa.int64()))


def previous_clusters(lake: Lake, threshold: int) -> pa.Table | None:
    """The image_clusters table last written (image_id, cluster_id, phash) when it can seed an
    incremental update: written by this code version at this threshold; None otherwise."""
    key = table_key("image_clusters")
    if not lake.has(key):
        return None
    table = lake.read_table(key, columns=["image_id", "cluster_id", "phash"])
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    config = json.loads(meta.get("rs_assets.config", "{}"))
    same_code = meta.get("rs_assets.code_version") == code_version("image_clusters")
    return table if same_code and config.get("hamming_threshold") == threshold else None


def with_geo_cells(clusters: pa.Table, kept: pa.Table) -> pa.Table:
    """Each image's lat/lon (of its representative record) and its cluster's geo cell (the canonical's),
    so splits can block space without reading other partitions. Columnar: two joins, no row loop."""
    row = "__row"
    coords = kept.select(["record_id", "lat", "lon"])
    located = (
        clusters.select(["record_id", "cluster_id", "is_canonical"])
        .append_column(row, pa.array(np.arange(clusters.num_rows), pa.int64()))
        .join(coords, keys="record_id", join_type="left outer")
        .sort_by(row)
    )
    canonical = located.filter(pc.field("is_canonical"))
    cells = pa.table(
        {"cluster_id": canonical["cluster_id"], "geo_cell": geo_cells(canonical["lat"], canonical["lon"])}
    )
    cell = (
        located.select(["cluster_id", row])
        .join(cells, keys="cluster_id", join_type="left outer")
        .sort_by(row)
    )
    return (
        clusters.append_column("lat", pc.cast(located["lat"], pa.float64()))
        .append_column("lon", pc.cast(located["lon"], pa.float64()))
        .append_column("geo_cell", cell["geo_cell"])
    )


def cluster_invariants(clusters: pa.Table) -> tuple[bool, dict[str, int]]:
    """Exactly one canonical per cluster, and cluster_size equals the members counted."""
    grouped = clusters.group_by("cluster_id").aggregate(
        [("is_canonical", "sum"), ("image_id", "count"), ("cluster_size", "min"), ("cluster_size", "max")]
    )
    size_ok = pc.and_(
        pc.equal(grouped["image_id_count"], grouped["cluster_size_min"]),
        pc.equal(grouped["cluster_size_min"], grouped["cluster_size_max"]),
    )
    bad_canon = grouped.num_rows - pc.sum(pc.equal(grouped["is_canonical_sum"], 1)).as_py() if grouped else 0
    bad_size = grouped.num_rows - pc.sum(size_ok).as_py() if grouped else 0
    return bad_canon == bad_size == 0, {
        "clusters": grouped.num_rows,
        "clusters_without_one_canonical": bad_canon,
        "clusters_with_wrong_size": bad_size,
    }
