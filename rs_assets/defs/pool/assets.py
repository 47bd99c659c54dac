"""filtered_pool: every raw row with a decision (kept, or a drop_reason) and the filter scores."""

import dagster as dg

from rs_assets.defs.common import (
    LakeResource,
    contract_results,
    counts,
    partition,
    partition_asset,
    read_partition,
    write_partition,
)
from rs_assets.lib.pool import pool_partition
from rs_assets.lib.reconcile import pool_reconciliation
from rs_assets.lib.selection import with_coordinates


@partition_asset(
    deps=["raw_scrape"],
    kinds={"parquet", "pillow"},
    description="Decode validity, bomb guard, geometry, blank tiles, text and RS relevance: "
    "one decision per raw row. Duplicates are kept here; image_clusters decides them globally.",
)
def filtered_pool(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    source, year, cfg = partition(context)
    store = lake.lake()
    raw = read_partition(store, "raw_scrape", source, year)
    pool = pool_partition(
        raw,
        cfg,
        load_image=store.get_image,
        put_thumb=store.put_thumb,
        max_pixels=cfg.max_pixels,
        rs_scorer=cfg.rs_scorer,
    )
    pool = with_coordinates(pool, raw)
    metadata = write_partition(context, store, "filtered_pool", pool, source=source, year=year, config=cfg)
    reasons = counts(r for r in pool["drop_reason"].to_pylist() if r is not None)
    kept = sum(pool["kept"].to_pylist())
    context.log.info(f"filtered_pool {source}|{year}: kept {kept}/{pool.num_rows}, drops {reasons}")
    return dg.MaterializeResult(
        metadata={**metadata, "kept": kept, "dropped": pool.num_rows - kept, "drop_reasons": reasons},
        check_results=contract_results(
            "filtered_pool", pool, source=source, year=year, reconciliation=pool_reconciliation(raw, pool)
        ),
    )
