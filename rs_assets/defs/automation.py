"""Declarative automation: after a batch of partition updates, the globals are rebuilt once.

Each asset's condition follows from the job its stage is in (`Stage.job`, `lib/stages.py`):

- `pool` stages (`raw_scrape`, `filtered_pool`): none; schedules, backfills and users launch them.
- `clusters` (`image_clusters`): when any pool partition was updated since it was last requested or
  updated, and no pool partition is in progress (queued, running or in a backfill). A batch of N
  partition runs therefore triggers one rebuild, after the last of them, not N.
- `partition` stages (`captions` ... `benchmark_splits`): the newest year only (the one the daily
  schedule refreshes), once `image_clusters` has materialised (never in the same tick, which would launch
  them in a run of their own before the clusters exist); later stages of a partition follow in the same
  run. Older years are built by the backfill or run that built their pool.
- `release`: when anything upstream changed, once nothing upstream is requested or in progress, so
  clusters and the newest-year stages settle first and the release is exported once per batch.
- `warehouse`: with the release (same tick, same run).

`eager()` is not used as is: its `~any_deps_missing()` waits for EVERY upstream partition of a global
asset (every source x year since 1990), so it would never fire. `on_cron` would rebuild at fixed times
even when nothing changed and lags a batch by up to a period.
"""

from __future__ import annotations

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.lib.stages import Stage, stages_in_job

AC = dg.AutomationCondition
SENSOR = "rs_assets_automation"


def _of(*jobs: str) -> dg.AssetSelection:
    return dg.AssetSelection.assets(*[name for job in jobs for name in stages_in_job(job)])


def _idle() -> dg.AutomationCondition:
    """Neither the target nor any dependency is in a run or backfill (queued runs count)."""
    return ~AC.in_progress() & ~AC.any_deps_in_progress()


def _globals_present() -> dg.AutomationCondition:
    """Every global dependency exists or is requested this tick (partitioned ones need not all exist)."""
    return ~AC.any_deps_missing().allow(_of("clusters", "publish"))


def after_pool_batch() -> dg.AutomationCondition:
    return (AC.any_deps_updated().since_last_handled() & _idle()).with_label("after_pool_batch")


def newest_year_after_clusters() -> dg.AutomationCondition:
    clusters_done = AC.any_deps_match(AC.newly_updated() & ~AC.executed_with_root_target()).allow(
        _of("clusters")
    )
    same_partition = AC.any_deps_match(AC.will_be_requested()).allow(_of("partition"))
    # a rebuild requested this tick (more pool updates landed) would run beside these stages: wait for it
    rebuilding = AC.any_deps_match(AC.will_be_requested()).allow(_of("clusters"))
    return (
        AC.in_latest_time_window()
        & (clusters_done | same_partition).since_last_handled()
        & ~rebuilding
        & ~AC.any_deps_missing()
        & _idle()
    ).with_label("newest_year_after_clusters")


def after_upstream_settles() -> dg.AutomationCondition:
    return (
        AC.any_deps_updated().since_last_handled()
        & ~AC.any_deps_match(AC.will_be_requested())
        & _globals_present()
        & _idle()
    ).with_label("after_upstream_settles")


def with_release() -> dg.AutomationCondition:
    return (
        AC.any_deps_updated().allow(dg.AssetSelection.assets("release")).since_last_handled()
        & _globals_present()
        & _idle()
    ).with_label("with_release")


def condition_for(spec: Stage) -> dg.AutomationCondition | None:
    """The automation condition of a registered stage (None: launched by hand, schedule or backfill)."""
    if spec.job == "clusters":
        return after_pool_batch()
    if spec.job == "partition":
        return newest_year_after_clusters()
    if spec.job == "publish":
        return with_release() if spec.name == "warehouse" else after_upstream_settles()
    return None


def build(project: Project) -> dg.Definitions:
    """The automation sensor, RUNNING by default (Dagster starts sensors STOPPED unless told)."""
    del project  # the conditions live on the assets; the sensor only needs to target them
    sensor = dg.AutomationConditionSensorDefinition(
        SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=30,
        description="Rebuilds image_clusters once per batch of pool updates, then the newest year's "
        "per-partition stages, then release + warehouse (conditions in rs_assets/defs/automation.py).",
    )
    return dg.Definitions(sensors=[sensor])


@dg.definitions
def defs() -> dg.Definitions:
    return build(load_project())
