"""benchmark_splits: train/val/test per image, stable and leak-free across partitions."""

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from rs_assets.defs.common import (
    LakeResource,
    contract_results,
    counts,
    partition,
    partition_asset,
    read_global,
    read_partition,
    write_partition,
)
from rs_assets.lib.splits import split_rows
from rs_assets.lib.tables import from_rows


@partition_asset(
    deps=["filtered_pool", "instruction_sets", "image_clusters"],
    kinds={"parquet"},
    description="70/20/10 by hash of the cluster's geo cell (else cluster id): near-duplicates and "
    "neighbouring scenes never straddle splits; stable when new partitions arrive.",
)
def benchmark_splits(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    source, year, cfg = partition(context)
    store = lake.lake()
    kept = read_partition(store, "filtered_pool", source, year, ["record_id", "image_id", "kept"]).filter(
        pc.field("kept")
    )
    kept_ids = set(kept["record_id"].to_pylist())
    clusters = read_global(store, "image_clusters")
    table = from_rows(
        "benchmark_splits", split_rows(clusters, kept_ids), pa.schema([("is_canonical", pa.bool_())])
    )
    metadata = write_partition(
        context, store, "benchmark_splits", table, source=source, year=year, config=cfg
    )
    # every kept record represents its image here, or its image (same bytes) is represented by
    # another record: a recorded outcome, not a loss. A kept image unknown to image_clusters is.
    elsewhere = len(kept_ids - set(table["record_id"].to_pylist()))
    stale = len(set(kept["image_id"].to_pylist()) - set(clusters["image_id"].to_pylist()))
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "split_counts": counts(table["split"].to_pylist()),
            "kept_records": len(kept_ids),
            "represented_elsewhere": elsewhere,
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
