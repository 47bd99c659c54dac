"""Jobs and schedules, selected from the stage registry: one run per partition for every per-partition
stage, one for the globals that publish."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.lib.stages import stages_in_job


def build(project: Project) -> dg.Definitions:
    partition_job = dg.define_asset_job(
        "partition_job",
        selection=stages_in_job("partition"),
        partitions_def=project.partitions,
        description="All per-partition stages of one source x year in one run (image_clusters, global, is "
        "refreshed in the same run so captions see every partition's duplicates).",
    )
    publish_job = dg.define_asset_job(
        "publish_job",
        selection=stages_in_job("publish"),
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
            for s in project.sources
        ]

    return dg.Definitions(jobs=[partition_job, publish_job], schedules=[refresh_newest_year])


@dg.definitions
def defs() -> dg.Definitions:
    return build(load_project())
