"""benchmark_splits: train/val/test per image, stable and leak-free across partitions."""

import dagster as dg
import pyarrow.compute as pc

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import LakeResource
from rs_assets.defs.stage import (
    contract_results,
    counts,
    funnel_metadata,
    read_global,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.benchmark_splits.splits import split_rows
from rs_assets.lib.funnel import funnel
from rs_assets.lib.selection import unclustered_images
from rs_assets.lib.stages import from_rows


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(project, deps=["filtered_pool", "instruction_sets", "image_clusters"], kinds={"parquet"})
    def benchmark_splits(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        pool = read_partition(store, "filtered_pool", source, year, ["record_id", "image_id", "kept"])
        kept = pool.filter(pc.field("kept"))
        kept_ids = set(kept["record_id"].to_pylist())
        clusters = read_global(store, "image_clusters")
        table = from_rows("benchmark_splits", split_rows(clusters, kept_ids))
        metadata = write_partition(
            context, store, "benchmark_splits", table, source=source, year=year, config=cfg
        )
        # every kept record represents its image here, or its image (same bytes) is represented by
        # another record: a recorded outcome, not a loss. A kept image unknown to image_clusters is.
        written = set(table["record_id"].to_pylist())
        elsewhere = len(kept_ids - written)
        unclustered = set(unclustered_images(pool, clusters))
        stale = len(unclustered)
        outcomes = [
            None if r in written else "not_in_image_clusters" if i in unclustered else "represented_elsewhere"
            for r, i in zip(kept["record_id"].to_pylist(), kept["image_id"].to_pylist(), strict=True)
        ]
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "split_counts": counts(table["split"].to_pylist()),
                "kept_records": len(kept_ids),
                "represented_elsewhere": elsewhere,
                **funnel_metadata(funnel("kept_records", outcomes)),
            },
            check_results=contract_results(
                "benchmark_splits",
                table,
                source=source,
                year=year,
                reconciliation=(
                    stale == 0,
                    {
                        "kept_records": len(kept_ids),
                        "rows": table.num_rows,
                        "kept_not_in_image_clusters": stale,
                        "represented_by_another_record": elsewhere,
                    },
                ),
            ),
        )

    return benchmark_splits


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
