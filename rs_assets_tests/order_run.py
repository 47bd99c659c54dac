"""Materialise partitions in a given order in a fresh process and print the global results as JSON.

Used by test_order_independence (its own sources file, so a subprocess: definitions read the sources
at load). `python -m rs_assets_tests.order_run KEY [KEY ...]`.
"""

from __future__ import annotations

import json
import sys

import dagster as dg


def main(keys: list[str]) -> None:
    from rs_assets.lib import settings
    from rs_assets.lib.lake import Lake
    from rs_assets.lib.release import release_samples
    from rs_assets_tests.pipeline import failed_checks, run_partitions

    with dg.instance_for_test() as instance:
        results = run_partitions(instance, keys, publish=False)
    lake = Lake(settings.lake_root())
    clusters = lake.read_all("image_clusters").sort_by("image_id")
    columns = ["image_id", "cluster_id", "is_canonical", "cluster_size", "record_id", "geo_cell"]
    samples, excluded = release_samples(lake)
    print(
        json.dumps(
            {
                "failed_checks": failed_checks(results),
                "clusters": clusters.select(columns).to_pylist(),
                "release": {
                    split: sorted(
                        (
                            s["image_id"],
                            [c["caption_id"] for c in s["captions"]],
                            [c["id"] for c in s["conversations"]],
                        )
                        for s in rows
                    )
                    for split, rows in samples.items()
                },
                "excluded": sorted((e["image_id"], e["reason"]) for e in excluded),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1:])
