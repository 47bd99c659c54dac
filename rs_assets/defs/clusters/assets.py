"""image_clusters: exact and near duplicates across every partition of the pool."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.defs.common import (
    SOURCES,
    STAGE_GROUP,
    LakeResource,
    contract_results,
    contract_specs,
    write_partition,
)
from rs_assets.lib.clusters import cluster_images
from rs_assets.lib.splits import geo_cell
from rs_assets.lib.tables import SCHEMAS

POOL_COLUMNS = ["record_id", "image_id", "source", "year", "kept", "phash", "width", "height", "lat", "lon"]
UNKNOWN_SOURCE_PRIORITY = 1_000_000


class ClusterConfig(dg.Config):
    hamming_threshold: int = 8


def _kept_pool(table: pa.Table | None) -> pa.Table:
    """Kept rows of every pool partition with each source's priority (lower wins canonical ties)."""
    if table is None:
        return pa.table(
            {
                c: pa.array([], type=SCHEMAS["filtered_pool"].field(c).type)
                for c in POOL_COLUMNS
                if c != "kept"
            }
            | {"priority": pa.array([], pa.int64())}
        )
    kept = table.filter(pc.field("kept")).drop_columns(["kept"])
    priority = [
        SOURCES[s].priority if s in SOURCES else UNKNOWN_SOURCE_PRIORITY for s in kept["source"].to_pylist()
    ]
    return kept.append_column("priority", pa.array(priority, pa.int64()))


def with_geo_cells(clusters: pa.Table, kept: pa.Table) -> pa.Table:
    """Each image's lat/lon (of its representative record) and its cluster's cell (the canonical's)."""
    coords = {
        r: (la, lo)
        for r, la, lo in zip(
            kept["record_id"].to_pylist(), kept["lat"].to_pylist(), kept["lon"].to_pylist(), strict=True
        )
    }
    rows = clusters.select(["record_id", "cluster_id", "is_canonical"]).to_pylist()
    lat_lon = [coords.get(r["record_id"], (None, None)) for r in rows]
    cell = {r["cluster_id"]: geo_cell(*ll) for r, ll in zip(rows, lat_lon, strict=True) if r["is_canonical"]}
    return (
        clusters.append_column("lat", pa.array([ll[0] for ll in lat_lon], pa.float64()))
        .append_column("lon", pa.array([ll[1] for ll in lat_lon], pa.float64()))
        .append_column("geo_cell", pa.array([cell.get(r["cluster_id"]) for r in rows], pa.string()))
    )


def cluster_invariants(clusters: pa.Table) -> tuple[bool, dict[str, int]]:
    """Exactly one canonical per cluster, and cluster_size equals the members counted."""
    grouped = clusters.group_by("cluster_id").aggregate(
        [("is_canonical", "sum"), ("image_id", "count"), ("cluster_size", "min"), ("cluster_size", "max")]
    )
    bad_canon = pc.sum(pc.not_equal(grouped["is_canonical_sum"], 1)).as_py() or 0
    bad_size = (
        pc.sum(
            pc.or_(
                pc.not_equal(grouped["image_id_count"], grouped["cluster_size_min"]),
                pc.not_equal(grouped["cluster_size_min"], grouped["cluster_size_max"]),
            )
        ).as_py()
        or 0
    )
    return bad_canon == bad_size == 0, {
        "clusters": grouped.num_rows,
        "clusters_without_one_canonical": bad_canon,
        "clusters_with_wrong_size": bad_size,
    }


@dg.asset(
    group_name=STAGE_GROUP,
    deps=["filtered_pool"],
    pool="image_clusters",
    check_specs=[
        *contract_specs("image_clusters", reconcile=False, partitioned=False),
        dg.AssetCheckSpec(
            "cluster_invariants",
            asset="image_clusters",
            blocking=True,
            description="one canonical per cluster; cluster_size = members",
        ),
    ],
    kinds={"parquet", "numpy"},
    description="Exact (sha256) and near (pHash Hamming) duplicates over ALL pool partitions; "
    "a pure function of the set of kept images, whatever the materialisation order.",
)
def image_clusters(
    context: dg.AssetExecutionContext, config: ClusterConfig, lake: LakeResource
) -> dg.MaterializeResult:
    store = lake.lake()
    kept = _kept_pool(store.read_all("filtered_pool", columns=POOL_COLUMNS))
    clusters = with_geo_cells(cluster_images(kept, threshold=config.hamming_threshold), kept)
    metadata = write_partition(context, store, "image_clusters", clusters, config=config)
    ok, inv = cluster_invariants(clusters)
    dupes = clusters.num_rows - inv["clusters"]
    context.log.info(f"image_clusters: {clusters.num_rows} images in {inv['clusters']} clusters")
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "images": clusters.num_rows,
            "clusters": inv["clusters"],
            "duplicate_images": dupes,
            "kept_pool_rows": kept.num_rows,
        },
        check_results=[
            *contract_results("image_clusters", clusters),
            dg.AssetCheckResult(check_name="cluster_invariants", passed=ok, metadata=inv),
        ],
    )
