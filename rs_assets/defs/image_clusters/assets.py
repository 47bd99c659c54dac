"""image_clusters: exact and near duplicates across every partition of the pool."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import LakeResource
from rs_assets.defs.stage import contract_results, stage_asset, write_partition
from rs_assets.lib.image_clusters.clusters import DEFAULT_THRESHOLD, cluster_images, extend_clusters
from rs_assets.lib.image_clusters.tables import (
    POOL_COLUMNS,
    cluster_invariants,
    kept_pool,
    previous_clusters,
    with_geo_cells,
)


class ClusterConfig(dg.Config):
    hamming_threshold: int = DEFAULT_THRESHOLD


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(
        project,
        deps=["filtered_pool"],
        reconcile=False,
        pool="image_clusters",
        extra_checks=[
            dg.AssetCheckSpec(
                "cluster_invariants",
                asset="image_clusters",
                blocking=True,
                description="one canonical per cluster; cluster_size = members",
            ),
        ],
        kinds={"parquet", "numpy"},
    )
    def image_clusters(
        context: dg.AssetExecutionContext, config: ClusterConfig, lake: LakeResource
    ) -> dg.MaterializeResult:
        store = lake.lake()
        priorities = {name: src.priority for name, src in project.sources.items()}
        kept = kept_pool(store.read_all("filtered_pool", columns=POOL_COLUMNS), priorities)
        threshold = config.hamming_threshold
        # the last table seeds an update when the pool only grew (same result as a full rebuild)
        previous = previous_clusters(store, threshold)
        clustered = extend_clusters(kept, previous, threshold) if previous is not None else None
        mode = "full" if clustered is None else "incremental"
        if clustered is None:
            clustered = cluster_images(kept, threshold=threshold)
        clusters = with_geo_cells(clustered, kept)
        metadata = write_partition(context, store, "image_clusters", clusters, config=config)
        ok, inv = cluster_invariants(clusters)
        dupes = clusters.num_rows - inv["clusters"]
        context.log.info(f"image_clusters ({mode}): {clusters.num_rows} images in {inv['clusters']} clusters")
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "images": clusters.num_rows,
                "clusters": inv["clusters"],
                "duplicate_images": dupes,
                "kept_pool_rows": kept.num_rows,
                "clustering": mode,
            },
            check_results=[
                *contract_results("image_clusters", clusters),
                dg.AssetCheckResult(check_name="cluster_invariants", passed=ok, metadata=inv),
            ],
        )

    return image_clusters


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
