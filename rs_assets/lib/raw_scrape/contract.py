"""raw_scrape's contract: one row per attempted item, ok or failed with a status."""

import pyarrow as pa

from rs_assets.lib.records import RAW_STATUSES
from rs_assets.lib.stages import Column, Stage

TS = pa.timestamp("us", tz="UTC")
BOX = pa.struct(
    [
        ("cls", pa.string()),
        ("x1", pa.float64()),
        ("y1", pa.float64()),
        ("x2", pa.float64()),
        ("y2", pa.float64()),
        ("poly", pa.list_(pa.float64())),  # oriented boxes: x1 y1 ... x4 y4 (eight floats), else NULL
        ("description", pa.string()),  # a referring expression (DIOR-RSVG), else NULL
    ]
)
QA = pa.struct([("question", pa.string()), ("answer", pa.string()), ("type", pa.string())])
SHARE = pa.struct([("cls", pa.string()), ("share", pa.float64())])
GEO_RULES = (
    ("ExpectColumnValuesToBeBetween", {"column": "lat", "min_value": -90, "max_value": 90}),
    ("ExpectColumnValuesToBeBetween", {"column": "lon", "min_value": -180, "max_value": 180}),
)

RAW_SCRAPE = Stage(
    name="raw_scrape",
    description="Every attempted item (ok or failed with status/error); images stored content-addressed.",
    partitioned=True,
    job="pool",
    columns=(
        Column("record_id", pa.string(), "stable hash of (source, native id or URL)"),
        Column("source", pa.string(), "source name from the sources YAML"),
        Column("year", pa.int32(), "acquisition/publication year, else the source's default_year"),
        Column("native_id", pa.string(), "the source's own id (canonical URL, path, dataset id)"),
        Column("url", pa.string(), "image URL or path (credentials stripped)"),
        Column("page_url", pa.string(), "article/page the image came from (web sources)"),
        Column("title", pa.string(), "page or item title"),
        Column("text", pa.string(), "article body, pair caption or label text"),
        Column("alt_text", pa.string(), "the image's alt text (web)"),
        Column("credits", pa.string(), "credit line as published"),
        Column("captured_at", TS, "acquisition or publication time (UTC)"),
        Column("lat", pa.float64(), "latitude (WGS84) when known"),
        Column("lon", pa.float64(), "longitude (WGS84) when known"),
        Column("sensor", pa.string(), "sensor or platform name"),
        Column("gsd_m", pa.float64(), "ground sampling distance in metres"),
        Column("cloud_cover", pa.float64(), "cloud cover fraction 0-1"),
        Column("labels", pa.list_(pa.string()), "scene labels, leaf class last"),
        Column(
            "objects",
            pa.list_(BOX),
            "boxes: cls, axis-aligned x1 y1 x2 y2 and optional poly (8 floats) in pixels of the original "
            "image, optional referring description",
        ),
        Column("landcover", pa.list_(SHARE), "land-cover classes with their area share"),
        Column("ref_captions", pa.list_(pa.string()), "the dataset's own captions (RSICD, UCM-captions...)"),
        Column("ref_qa", pa.list_(QA), "the dataset's own QA (RSVQA): question, answer, type"),
        Column("extra", pa.string(), "JSON of source-specific fields (the dataset's split in `split`)"),
        Column("image_id", pa.string(), "sha256 of the image bytes (content address)"),
        Column("image_ext", pa.string(), "file extension of the stored original"),
        Column("byte_size", pa.int64(), "size of the original in bytes"),
        Column("width", pa.int32(), "pixels, from the header"),
        Column("height", pa.int32(), "pixels, from the header"),
        Column("status", pa.string(), "`ok` or why no image was obtained (vocabulary below)"),
        Column("error", pa.string(), "the failure, redacted"),
        Column("http_status", pa.int32(), "last HTTP status (HTTP sources)"),
        Column("fetched_at", TS, "when the bytes were fetched or revalidated"),
    ),
    keys=("record_id",),
    vocabularies={"status": RAW_STATUSES},
    preview=("native_id", "status", "width", "height", "title"),
    rules=(
        ("ExpectColumnValuesToBeBetween", {"column": "width", "min_value": 1, "max_value": 200_000}),
        ("ExpectColumnValuesToBeBetween", {"column": "height", "min_value": 1, "max_value": 200_000}),
        ("ExpectColumnValuesToBeBetween", {"column": "cloud_cover", "min_value": 0, "max_value": 1}),
        *GEO_RULES,
    ),
)
