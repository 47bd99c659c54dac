"""captions: several strategies per canonical image (meta, GAIA, MpGI) on the configured backend."""

import dagster as dg

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
from rs_assets.lib.captions import caption_check_problems, caption_partition
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.reconcile import coverage_reconciliation
from rs_assets.lib.selection import canonical_records


@partition_asset(
    deps=["raw_scrape", "image_clusters"],
    extra_checks=[
        dg.AssetCheckSpec(
            "caption_quality",
            asset="captions",
            description="refusal rate, empty texts, duplicate captions per image",
        ),
    ],
    kinds={"parquet", "openai"},
    description="One row per caption; only canonical kept images (never pay twice for one scene). "
    "Failures are rows with a status, never missing.",
)
def captions(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    source, year, cfg = partition(context)
    store = lake.lake()
    raw = read_partition(store, "raw_scrape", source, year)
    records = canonical_records(raw, read_global(store, "image_clusters"))
    settings = LLMSettings.from_env()
    result = caption_partition(records.to_pylist(), list(cfg.captions), store, settings, log=context.log)
    table = result.table
    metadata = write_partition(context, store, "captions", table, source=source, year=year, config=cfg)
    expected = {(i, s) for i in records["image_id"].to_pylist() for s in cfg.captions}
    produced = {
        (i, s)
        for i, s in zip(table["image_id"].to_pylist(), table["strategy"].to_pylist(), strict=True)
        if s in cfg.captions
    }
    quality = caption_check_problems(table)
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "images": records.num_rows,
            "backend": settings.backend,
            "strategy_counts": counts(table["strategy"].to_pylist()),
            "status_counts": counts(table["status"].to_pylist()),
            **{f"llm/{k}": v for k, v in result.stats.items()},
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
