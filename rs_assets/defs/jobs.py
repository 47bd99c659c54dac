"""Jobs and schedules: one run per partition for every per-partition stage, one for the globals."""

import dagster as dg

from rs_assets.defs.common import PARTITIONS, SOURCES

PARTITION_STAGES = [
    "raw_scrape",
    "filtered_pool",
    "image_clusters",
    "captions",
    "instruction_sets",
    "benchmark_splits",
]

partition_job = dg.define_asset_job(
    "partition_job",
    selection=PARTITION_STAGES,
    partitions_def=PARTITIONS,
    description="All per-partition stages of one source x year in one run (image_clusters, global, is "
    "refreshed in the same run so captions see every partition's duplicates).",
)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=["release", "warehouse"],
    description="Export the release bundles and rebuild the DuckDB catalog.",
)


@dg.schedule(
    job=partition_job,
    cron_schedule="0 3 * * *",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Daily refresh of every source's current-year partition (new articles, pairs).",
)
def refresh_newest_year(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
    year = str(context.scheduled_execution_time.year)
    return [
        dg.RunRequest(
            partition_key=dg.MultiPartitionKey({"source": s, "year": year}),
            run_key=f"{s}|{year}|{context.scheduled_execution_time:%Y-%m-%d}",
        )
        for s in SOURCES
    ]


@dg.definitions
def jobs() -> dg.Definitions:
    return dg.Definitions(jobs=[partition_job, publish_job], schedules=[refresh_newest_year])
