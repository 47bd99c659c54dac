"""Jobs and schedules, selected from the stage registry (`Stage.job`), one per step of a backfill:
`pool_job` per partition, `clusters_job` once, `partition_job` per partition, `publish_job` once."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.lib.stages import JOBS, job_name, stage, stages_in_job

DESCRIPTIONS = {
    "pool": "raw_scrape and filtered_pool of one source x year (the pool image_clusters reads).",
    "clusters": "image_clusters over the kept images of every partition, once per batch of pool updates.",
    "partition": "The per-partition stages that read image_clusters (captions ... benchmark_splits) for "
    "one source x year; image_clusters must have run after the partition's pool.",
    "publish": "Export the release bundles and rebuild the DuckDB catalog.",
}


def _partitioned(job: str) -> bool:
    return stage(stages_in_job(job)[0]).partitioned


def in_backfill_order(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    keys: Iterable[str],
    jobs: Sequence[str] = JOBS,
    **execute: Any,
) -> Iterator[tuple[str, str | None, dg.ExecuteInProcessResult]]:
    """Run the graph for `keys` in process as an asset backfill would: `pool_job` for every key,
    `clusters_job` once, `partition_job` for every key, `publish_job` once (or only `jobs`, in that
    order). Yields (job, key, result) as each run ends; the caller stops on a failure. `execute` goes
    to `execute_in_process`."""
    keys = list(keys)
    for job in (j for j in JOBS if j in jobs):
        for key in keys if _partitioned(job) else [None]:
            result = defs.resolve_job_def(job_name(job)).execute_in_process(
                instance=instance, partition_key=key, **execute
            )
            yield job, key, result


def build(project: Project) -> dg.Definitions:
    jobs = {
        job: dg.define_asset_job(
            job_name(job),
            selection=stages_in_job(job),
            partitions_def=project.partitions if _partitioned(job) else None,
            description=DESCRIPTIONS[job],
        )
        for job in JOBS
    }

    @dg.schedule(
        job=jobs["pool"],
        cron_schedule="0 3 * * *",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Daily scrape of every source's current-year partition (new articles, pairs); the "
        "automation sensor then rebuilds image_clusters, that year's later stages, release and warehouse.",
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

    return dg.Definitions(jobs=list(jobs.values()), schedules=[refresh_newest_year])


@dg.definitions
def defs() -> dg.Definitions:
    return build(load_project())
