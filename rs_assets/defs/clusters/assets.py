"""image_clusters: exact and near duplicates across every partition of the pool."""

import dagster as dg

from rs_assets.defs.common import (
    SOURCES,
    STAGE_GROUP,
    LakeResource,
    contract_results,
    contract_specs,
    write_partition,
)
from rs_assets.lib.cluster_tables import POOL_COLUMNS, cluster_invariants, kept_pool, with_geo_cells
from rs_assets.lib.clusters import DEFAULT_THRESHOLD, cluster_images


class ClusterConfig(dg.Config):
    hamming_threshold: int = DEFAULT_THRESHOLD


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
    priorities = {name: src.priority for name, src in SOURCES.items()}
    kept = kept_pool(store.read_all("filtered_pool", columns=POOL_COLUMNS), priorities)
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
