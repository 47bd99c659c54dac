"""filtered_pool's contract: every raw row with its decision and the scores each filter computed."""

import pyarrow as pa

from rs_assets.lib.records import DROP_REASONS
from rs_assets.lib.stages import Column, Stage

FILTERED_POOL = Stage(
    name="filtered_pool",
    description="Decode validity, bomb guard, geometry, blank tiles, text and RS relevance: one decision "
    "per raw row. Duplicates are kept here; image_clusters decides them globally.",
    partitioned=True,
    job="pool",
    columns=(
        Column("record_id", pa.string(), "the raw_scrape row decided"),
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("source", pa.string(), "source name"),
        Column("year", pa.int32(), "partition year"),
        Column("kept", pa.bool_(), "whether the row enters clustering and captioning"),
        Column("drop_reason", pa.string(), "NULL when kept, else the first failing rule (vocabulary below)"),
        Column("phash", pa.uint64(), "64-bit DCT perceptual hash of the thumbnail"),
        Column("width", pa.int32(), "decoded width in pixels"),
        Column("height", pa.int32(), "decoded height in pixels"),
    ),
    extra=(
        Column("pixel_std", pa.float64(), "grey-level standard deviation of the thumbnail"),
        Column("zero_fraction", pa.float64(), "share of exact-zero (no-data) pixels"),
        Column("rs_text_score", pa.float64(), "lexicon RS relevance of the text"),
        Column("rs_score", pa.float64(), "RS relevance used for the decision"),
        Column("rs_scorer", pa.string(), "scorer that computed rs_score"),
        Column("text_words", pa.int32(), "words in the record's text"),
        Column("text_chars", pa.int32(), "characters in the record's text"),
        Column("format", pa.string(), "decoded image format"),
        Column("mode", pa.string(), "decoded Pillow mode"),
        Column("error_detail", pa.string(), "decoder or fetch error"),
        Column("lat", pa.float64(), "latitude of the record"),
        Column("lon", pa.float64(), "longitude of the record"),
    ),
    keys=("record_id",),
    derived_from={"record_id": ("raw_scrape.record_id",), "image_id": ("raw_scrape.image_id",)},
    vocabularies={"drop_reason": DROP_REASONS},
    preview=("record_id", "kept", "drop_reason", "width", "height", "rs_score"),
    rules=(("ExpectColumnValuesToNotBeNull", {"column": "kept"}),),
    auto_view=False,  # pool_decisions (every row) and filtered_pool (kept) live in sql/views
)
