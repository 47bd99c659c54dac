"""instruction_sets: LLaVA conversations per canonical image and task (RS-GPT4V style)."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import ExecutorResource, LakeResource, LLMResource
from rs_assets.defs.stage import (
    contract_results,
    counts,
    current_clusters,
    funnel_metadata,
    llm_metadata,
    read_partition,
    stage_asset,
    write_partition,
)
from rs_assets.lib.funnel import job_funnel
from rs_assets.lib.instruction_sets.inputs import source_vocabulary
from rs_assets.lib.instruction_sets.llm import instruction_partition
from rs_assets.lib.instruction_sets.sharded import instruction_partition_sharded
from rs_assets.lib.reconcile import coverage_reconciliation
from rs_assets.lib.selection import canonical_records
from rs_assets.lib.stages import from_rows


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(project, deps=["captions", "image_clusters"], kinds={"parquet", "openai"})
    def instruction_sets(
        context: dg.AssetExecutionContext,
        lake: LakeResource,
        llm: LLMResource,
        executor: ExecutorResource,
    ) -> dg.MaterializeResult:
        source, year, cfg = project.partition(context)
        store = lake.lake()
        raw = read_partition(store, "raw_scrape", source, year)
        records = canonical_records(raw, current_clusters(store, source, year))
        caps = read_partition(
            store, "captions", source, year, ["caption_id", "image_id", "strategy", "text", "status"]
        )
        # the source's classes: every object class and label of the partition (vqa_absent asks the rest)
        vocabulary = source_vocabulary(
            raw.select(["objects", "labels", "gsd_m", "width", "height"]).to_pylist()
        )
        model = cfg.instruction_backend == "llm"
        settings = llm.settings() if model else None  # the template path reads no LLM variable
        engine = executor.checked()
        shards: dict[str, int] = {}
        # only the model calls are worth shards; the templates are quick
        if settings is not None and engine.kind == "ray":
            result, shards = instruction_partition_sharded(
                store,
                source,
                year,
                records,
                caps.to_pylist(),
                cfg.instructions,
                vocabulary,
                cfg.max_conversations_per_image,
                settings,
                engine.shard_size,
            )
        else:
            result = instruction_partition(
                records.to_pylist(),
                caps.to_pylist(),
                cfg.instructions,
                vocabulary,
                cfg.max_conversations_per_image,
                backend=cfg.instruction_backend,
                lake=store,
                settings=settings,
                log=context.log,
            )
        table = from_rows("instruction_sets", result.rows)
        config = {"source": cfg.model_dump(mode="json"), "llm": settings.fingerprint()} if settings else cfg
        metadata = write_partition(
            context, store, "instruction_sets", table, source=source, year=year, config=config
        )
        expected = {(i, t) for i in records["image_id"].to_pylist() for t in cfg.instructions}
        produced = set(zip(table["image_id"].to_pylist(), table["task"].to_pylist(), strict=True))
        statuses = list(zip(table["task"].to_pylist(), table["status"].to_pylist(), strict=True))
        ok_tasks = [t for t, s in statuses if s == "ok"]
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "conversations": len(ok_tasks),
                **funnel_metadata(
                    job_funnel("image_tasks", table.to_pylist(), ("image_id", "task"), expected)
                ),
                "task_counts": counts(ok_tasks),
                "skip_reasons": counts(r for r in table["skip_reason"].to_pylist() if r),
                "failed": counts(t for t, s in statuses if s == "failed"),
                "vocabulary": {"objects": list(vocabulary.objects), "labels": list(vocabulary.labels)},
                **llm_metadata(result.stats if model else None),
                **{f"executor/{k}": v for k, v in shards.items()},
            },
            check_results=contract_results(
                "instruction_sets",
                table,
                source=source,
                year=year,
                reconciliation=coverage_reconciliation(expected, produced, "image_tasks"),
            ),
        )

    return instruction_sets


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
