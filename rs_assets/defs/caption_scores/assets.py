"""caption_scores: quality signals per candidate caption and the per-image selection the release exports."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import LakeResource, LLMResource
from rs_assets.defs.stage import (
    contract_results,
    counts,
    funnel_metadata,
    llm_metadata,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.caption_scores.score import candidates, score_partition
from rs_assets.lib.caption_scores.vocab import SIGNALS
from rs_assets.lib.funnel import funnel
from rs_assets.lib.reconcile import coverage_reconciliation


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(project, deps=["raw_scrape", "captions"], kinds={"parquet", "openai"})
    def caption_scores(
        context: dg.AssetExecutionContext, lake: LakeResource, llm: LLMResource
    ) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        raw = read_partition(store, "raw_scrape", source, year).to_pylist()
        caps = read_partition(store, "captions", source, year).to_pylist()
        settings = llm.settings()
        result = score_partition(raw, caps, cfg, store, settings, log=context.log)
        table = result.table
        metadata = write_partition(
            context,
            store,
            "caption_scores",
            table,
            source=source,
            year=year,
            config={
                "source": cfg.model_dump(mode="json"),
                "llm": settings.fingerprint() if cfg.judge else None,
            },
        )
        expected = {(c["caption_id"], s) for v in candidates(caps).values() for c in v for s in SIGNALS}
        produced = set(zip(table["caption_id"].to_pylist(), table["signal"].to_pylist(), strict=True))
        judged = result.stats["judge"]
        overall = table.select(["signal", "decision"]).to_pylist()
        decisions = [r["decision"] for r in overall if r["signal"] == "overall"]
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "images": result.stats["images"],
                "candidates": result.stats["candidates"],
                "decisions": result.stats["decisions"],
                "skipped_signals": result.stats["skipped"],
                "status_counts": counts(table["status"].to_pylist()),
                "judge": "on" if isinstance(judged, dict) else "off",
                **llm_metadata(judged if isinstance(judged, dict) else None),
                **funnel_metadata(funnel("candidate_captions", decisions, kept="selected")),
            },
            check_results=contract_results(
                "caption_scores",
                table,
                source=source,
                year=year,
                reconciliation=coverage_reconciliation(expected, produced, "caption_signals"),
            ),
        )

    return caption_scores


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
