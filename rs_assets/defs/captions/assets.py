"""captions: several strategies per canonical image (meta, GAIA, MpGI) on the configured backend."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import ExecutorResource, LakeResource, LLMResource
from rs_assets.defs.stage import (
    contact_sheet_metadata,
    contract_results,
    counts,
    current_clusters,
    funnel_metadata,
    llm_metadata,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.captions.checks import caption_check_problems
from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.captions.sharded import caption_partition_sharded
from rs_assets.lib.funnel import job_funnel
from rs_assets.lib.preview import caption_tiles
from rs_assets.lib.reconcile import coverage_reconciliation
from rs_assets.lib.selection import canonical_records


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(
        project,
        deps=["raw_scrape", "image_clusters"],
        extra_checks=[
            dg.AssetCheckSpec(
                "caption_quality",
                asset="captions",
                description="refusal rate, empty texts, duplicate captions per image",
            ),
        ],
        kinds={"parquet", "openai"},
    )
    def captions(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        llm: LLMResource,
        executor: ExecutorResource,
    ) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        raw = read_partition(store, "raw_scrape", source, year)
        records = canonical_records(raw, current_clusters(store, source, year))
        settings = llm.settings()
        engine = executor.checked()
        if engine.kind == "ray":
            result, shards = caption_partition_sharded(
                store, source, year, records, list(cfg.captions), settings, engine.shard_size
            )
        else:
            shards = {}
            result = caption_partition(
                records.to_pylist(), list(cfg.captions), store, settings, log=context.log
            )
        table = result.table
        metadata = write_partition(
            context,
            store,
            "captions",
            table,
            source=source,
            year=year,
            config={"source": cfg.model_dump(mode="json"), "llm": settings.fingerprint()},
        )
        expected = {(i, s) for i in records["image_id"].to_pylist() for s in cfg.captions}
        produced = {
            (i, s)
            for i, s in zip(table["image_id"].to_pylist(), table["strategy"].to_pylist(), strict=True)
            if s in cfg.captions
        }
        quality = caption_check_problems(table)
        rows = [r for r in table.to_pylist() if r["strategy"] in cfg.captions]
        jobs = job_funnel("image_strategies", rows, ("image_id", "strategy"), expected)
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "images": records.num_rows,
                "backend": settings.backend,
                "executor": engine.kind,
                **{f"executor/{k}": v for k, v in shards.items()},
                "strategy_counts": counts(table["strategy"].to_pylist()),
                "status_counts": counts(table["status"].to_pylist()),
                **funnel_metadata(jobs),
                **llm_metadata(result.stats),
                **contact_sheet_metadata(
                    store, "captions", source, year, caption_tiles(rows, store.thumb_or_none)
                ),
            },
            check_results=[
                *contract_results(
                    "captions",
                    table,
                    source=source,
                    year=year,
                    reconciliation=coverage_reconciliation(expected, produced, "image_strategies"),
                ),
                dg.AssetCheckResult(
                    check_name="caption_quality",
                    passed=quality["passed"],
                    metadata=quality,
                    severity=dg.AssetCheckSeverity.WARN,
                ),
            ],
        )

    return captions


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
