"""Joins between a partition's tables and the global image_clusters (record-level, no Dagster)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def canonical_records(raw: pa.Table, clusters: pa.Table) -> pa.Table:
    """raw rows that represent a canonical image, with its `cluster_id`.

    An image seen in several records is represented once (image_clusters.record_id), so it is
    captioned once, in the partition of that record; non-canonical near-duplicates are not captioned.
    """
    canonical = clusters.filter(pc.field("is_canonical"))
    cluster_of = dict(
        zip(canonical["record_id"].to_pylist(), canonical["cluster_id"].to_pylist(), strict=True)
    )
    rows = raw.filter(pc.is_in(raw["record_id"], pa.array(list(cluster_of), pa.string()))).sort_by(
        "record_id"
    )
    return rows.append_column(
        "cluster_id", pa.array([cluster_of[r] for r in rows["record_id"].to_pylist()], pa.string())
    )


def unclustered_images(pool: pa.Table, clusters: pa.Table) -> list[str]:
    """Kept images of a partition's pool that image_clusters does not know: clusters were built before
    this pool (a stage reading them would silently leave these images out)."""
    kept = pool.filter(pc.field("kept"))["image_id"]
    return sorted(set(kept.to_pylist()) - set(clusters["image_id"].to_pylist()))


def with_coordinates(pool: pa.Table, raw: pa.Table) -> pa.Table:
    """Carry lat/lon onto pool rows so the global clustering can give each cluster a geo cell without
    reading raw partitions."""
    coords = raw.select(["record_id", "lat", "lon"])
    return (
        pool.drop_columns([c for c in ("lat", "lon") if c in pool.column_names])
        .join(coords, keys="record_id", join_type="left outer")
        .sort_by("record_id")
    )
