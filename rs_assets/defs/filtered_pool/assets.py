"""filtered_pool: every raw row with a decision (kept, or a drop_reason) and the filter scores."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import ExecutorResource, LakeResource, PoolResource
from rs_assets.defs.stage import (
    contact_sheet_metadata,
    contract_results,
    counts,
    funnel_metadata,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.filtered_pool.driver import pool_partition
from rs_assets.lib.filtered_pool.sharded import pool_partition_sharded
from rs_assets.lib.funnel import funnel
from rs_assets.lib.preview import decision_tiles
from rs_assets.lib.reconcile import pool_reconciliation
from rs_assets.lib.selection import with_coordinates


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(project, deps=["raw_scrape"], kinds={"parquet", "pillow"})
    def filtered_pool(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        pool: PoolResource,
        executor: ExecutorResource,
    ) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        raw = read_partition(store, "raw_scrape", source, year)
        engine = executor.checked()
        if engine.kind == "ray":
            decided, shards = pool_partition_sharded(store, source, year, raw, cfg, engine.shard_size)
        else:
            shards = {}
            decided = pool_partition(
                raw,
                cfg,
                load_image=store.get_image,
                put_thumb=store.put_thumb,
                workers=pool.worker_count(context),
                max_pixels=cfg.max_pixels,
                rs_scorer=cfg.rs_scorer,
            )
        decided = with_coordinates(decided, raw)
        metadata = write_partition(
            context, store, "filtered_pool", decided, source=source, year=year, config=cfg
        )
        reasons = counts(r for r in decided["drop_reason"].to_pylist() if r is not None)
        kept = sum(decided["kept"].to_pylist())
        context.log.info(f"filtered_pool {source}|{year}: kept {kept}/{decided.num_rows}, drops {reasons}")
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "kept": kept,
                "dropped": decided.num_rows - kept,
                "drop_reasons": reasons,
                "executor": engine.kind,
                **funnel_metadata(funnel("records", decided["drop_reason"].to_pylist())),
                **contact_sheet_metadata(
                    store,
                    "filtered_pool",
                    source,
                    year,
                    decision_tiles(
                        decided.select(["image_id", "kept", "drop_reason"]).to_pylist(), store.thumb_or_none
                    ),
                ),
                **{f"executor/{k}": v for k, v in shards.items()},
            },
            check_results=contract_results(
                "filtered_pool",
                decided,
                source=source,
                year=year,
                reconciliation=pool_reconciliation(raw, decided),
            ),
        )

    return filtered_pool


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
