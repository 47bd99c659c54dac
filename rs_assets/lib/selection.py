"""Which records a partition's generation stages work on, decided by the global image_clusters."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


def representative_rows(raw: pa.Table, clusters: pa.Table, *, canonical_only: bool) -> pa.Table:
    """raw rows that represent an image in image_clusters (optionally only canonical images),
    with the image's `cluster_id`.

    An image seen in several records is represented once (image_clusters.record_id), so it is
    captioned once and split once, in the partition of that record.
    """
    if canonical_only:
        clusters = clusters.filter(pc.field("is_canonical"))
    cluster_of = dict(zip(clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True))
    rows = raw.filter(pc.is_in(raw["record_id"], pa.array(list(cluster_of), pa.string()))).sort_by(
        "record_id"
    )
    return rows.append_column(
        "cluster_id", pa.array([cluster_of[r] for r in rows["record_id"].to_pylist()], pa.string())
    )
