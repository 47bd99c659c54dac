"""benchmark_splits' contract: one row per image with its split and blocking geo cell."""

import pyarrow as pa

from rs_assets.lib.benchmark_splits.splits import GEO_CELL_DEG, SPLIT_SHARES
from rs_assets.lib.stages import Column, Stage

BENCHMARK_SPLITS = Stage(
    name="benchmark_splits",
    description=f"{'/'.join(str(round(100 * s)) for _, s in SPLIT_SHARES)} by hash of the cluster's "
    f"{GEO_CELL_DEG:g}-degree geo cell (else cluster id): near-duplicates and neighbouring scenes never "
    "straddle splits; stable when new partitions arrive.",
    partitioned=True,
    job="partition",
    columns=(
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("record_id", pa.string(), "the record representing the image"),
        Column("cluster_id", pa.string(), "near-duplicate cluster"),
        Column("source", pa.string(), "source name"),
        Column("year", pa.int32(), "partition year"),
        Column("split", pa.string(), "train, val or test"),
        Column("geo_cell", pa.string(), "blocking cell, e.g. N37E121.25 (NULL without coordinates)"),
    ),
    extra=(Column("is_canonical", pa.bool_(), "the image is its cluster's canonical"),),
    keys=("image_id",),
    derived_from={
        "cluster_id": ("image_clusters.cluster_id",),
        "split": ("image_clusters.cluster_id", "image_clusters.geo_cell"),
    },
    vocabularies={"split": {name: f"{share:.0%} of blocking units" for name, share in SPLIT_SHARES}},
    preview=("image_id", "cluster_id", "split", "geo_cell"),
    rules=(("ExpectColumnValuesToNotBeNull", {"column": "cluster_id"}),),
)
