"""Materialise partitions (then release + warehouse) in a fresh process and print a JSON summary.

Tests that need their own sources file run this in a subprocess (definitions read the sources at
load): `python -m rs_assets_tests.run_keys KEY [KEY ...]`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

import dagster as dg


def main(keys: list[str]) -> None:
    from rs_assets.lib import settings
    from rs_assets.lib.lake import Lake
    from rs_assets.lib.release.samples import release_samples
    from rs_assets_tests.pipeline import failed_checks, run_partitions

    with dg.instance_for_test() as instance:
        results = run_partitions(instance, keys)
    lake = Lake(settings.lake_root())
    clusters = lake.read_all("image_clusters").sort_by("image_id")
    columns = ["image_id", "cluster_id", "is_canonical", "cluster_size", "record_id", "geo_cell"]
    samples, excluded = release_samples(lake)
    raw, pool = lake.read_all("raw_scrape"), lake.read_all("filtered_pool")
    captions, instructions = lake.read_all("captions"), lake.read_all("instruction_sets")
    summary = {
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
        "raw_status": dict(zip(raw["native_id"].to_pylist(), raw["status"].to_pylist(), strict=True)),
        "decisions": {
            n: r or "kept"
            for n, r in zip(
                raw.sort_by("record_id")["native_id"].to_pylist(),
                pool.sort_by("record_id")["drop_reason"].to_pylist(),
                strict=True,
            )
        },
        "caption_status": dict(
            Counter(
                f"{s}:{t}"
                for s, t in zip(captions["strategy"].to_pylist(), captions["status"].to_pylist(), strict=True)
            )
        ),
        "instruction_status": dict(
            Counter(
                f"{t}:{r or 'ok'}"
                for t, r in zip(
                    instructions["task"].to_pylist(), instructions["skip_reason"].to_pylist(), strict=True
                )
            )
        ),
    }
    print(json.dumps(summary, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])
