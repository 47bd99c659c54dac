"""warehouse: `catalog.duckdb`, views over every asset's Parquet, rebuilt in a temp file and swapped."""

import dagster as dg

from rs_assets.defs.common import STAGE_GROUP, LakeResource
from rs_assets.lib import settings
from rs_assets.lib.warehouse import build_catalog, connect

QUERYABLE = (
    "raw_scrape",
    "pool_decisions",
    "filtered_pool",
    "image_clusters",
    "captions",
    "instruction_sets",
    "benchmark_splits",
    "release",
    "lineage",
    "warehouse",
)


@dg.asset(
    group_name=STAGE_GROUP,
    deps=["release", "image_clusters"],
    check_specs=[
        dg.AssetCheckSpec(
            "views_answer", asset="warehouse", blocking=True, description="every view can be queried"
        )
    ],
    kinds={"duckdb"},
    description="The DuckDB catalog analysts open: one view per asset plus pool_decisions and lineage.",
)
def warehouse(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    store = lake.lake()
    target = settings.catalog_path()
    views = build_catalog(store, target)
    rows, failures = {}, {}
    conn = connect(target, store)
    try:
        for view in QUERYABLE:
            try:
                rows[view] = conn.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            except Exception as exc:  # reported by the check, with the view's error
                failures[view] = str(exc)[:300]
    finally:
        conn.close()
    return dg.MaterializeResult(
        metadata={"catalog": dg.MetadataValue.path(str(target)), "views": views, "rows_per_view": rows},
        check_results=[
            dg.AssetCheckResult(
                check_name="views_answer", passed=not failures, metadata={"failures": failures or "none"}
            )
        ],
    )
