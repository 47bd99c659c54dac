"""image_clusters' contract: one row per distinct kept image with its cluster and canonical flag."""

import pyarrow as pa

from rs_assets.lib.stages import Column, Stage

IMAGE_CLUSTERS = Stage(
    name="image_clusters",
    description="Exact (sha256) and near (pHash Hamming) duplicates over ALL pool partitions; a pure "
    "function of the set of kept images, whatever the materialisation order.",
    partitioned=False,
    job="clusters",
    columns=(
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("cluster_id", pa.string(), "smallest image_id of the near-duplicate cluster"),
        Column("is_canonical", pa.bool_(), "the cluster's representative (largest, then source priority)"),
        Column("cluster_size", pa.int32(), "distinct images in the cluster"),
        Column("record_id", pa.string(), "the record that represents this image"),
        Column("source", pa.string(), "source of that record"),
        Column("year", pa.int32(), "year of that record"),
    ),
    extra=(
        Column("phash", pa.uint64(), "perceptual hash"),
        Column("hamming_to_canonical", pa.int32(), "pHash bits differing from the canonical's"),
        Column("width", pa.int32(), "pixels"),
        Column("height", pa.int32(), "pixels"),
        Column("lat", pa.float64(), "latitude of the representing record"),
        Column("lon", pa.float64(), "longitude of the representing record"),
        Column("geo_cell", pa.string(), "the canonical's geo cell (split blocking unit)"),
    ),
    keys=("image_id",),
    derived_from={"cluster_id": ("filtered_pool.image_id", "filtered_pool.phash")},
    preview=("image_id", "cluster_id", "is_canonical", "cluster_size", "source"),
    rules=(
        ("ExpectColumnValuesToBeBetween", {"column": "cluster_size", "min_value": 1}),
        ("ExpectColumnValuesToNotBeNull", {"column": "cluster_id"}),
    ),
)
