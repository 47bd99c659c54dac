"""A partition's model-calling stages refuse clusters older than its pool (a partition_job launched
before clusters_job): the run fails naming the job to run, before any caption is asked or written."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from rs_assets.lib.lake import Lake, table_key
from rs_assets_tests.pipeline import run_partitions


def test_partition_job_before_clusters_job_fails_before_captioning(rs_home: Path) -> None:
    from rs_assets.definitions import defs

    loaded = defs()
    with dg.instance_for_test() as instance:
        run_partitions(instance, ["tiny_synthetic|2020"], publish=False)  # pool, clusters, stages
        key = "demo_synthetic|2021"
        pool = loaded.resolve_job_def("pool_job").execute_in_process(partition_key=key, instance=instance)
        assert pool.success
        with pytest.raises(
            dg.Failure, match=r"image_clusters is older than filtered_pool .*run clusters_job"
        ):
            loaded.resolve_job_def("partition_job").execute_in_process(partition_key=key, instance=instance)
        lake = Lake(str(rs_home / "lake"))
        assert not lake.has(table_key("captions", "demo_synthetic", 2021))
        assert lake.has(table_key("captions", "tiny_synthetic", 2020))  # the clustered partition's stay
        clusters = loaded.resolve_job_def("clusters_job").execute_in_process(instance=instance)
        assert clusters.success
        again = loaded.resolve_job_def("partition_job").execute_in_process(
            partition_key=key, instance=instance
        )
        assert again.success and lake.has(table_key("captions", "demo_synthetic", 2021))
