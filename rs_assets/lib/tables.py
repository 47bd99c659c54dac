"""Table contracts (DESIGN 6b): the columns every writer must produce and checks and views rely on.

Writers may add columns; these are the minimum, with their Arrow types.
"""

from __future__ import annotations

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")
BOX = pa.struct(
    [
        ("cls", pa.string()),
        ("x1", pa.float64()),
        ("y1", pa.float64()),
        ("x2", pa.float64()),
        ("y2", pa.float64()),
    ]
)
SHARE = pa.struct([("cls", pa.string()), ("share", pa.float64())])

SCHEMAS: dict[str, pa.Schema] = {
    "raw_scrape": pa.schema(
        [
            ("record_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
            ("native_id", pa.string()),
            ("url", pa.string()),
            ("page_url", pa.string()),
            ("title", pa.string()),
            ("text", pa.string()),
            ("alt_text", pa.string()),
            ("credits", pa.string()),
            ("captured_at", TS),
            ("lat", pa.float64()),
            ("lon", pa.float64()),
            ("sensor", pa.string()),
            ("gsd_m", pa.float64()),
            ("cloud_cover", pa.float64()),
            ("labels", pa.list_(pa.string())),
            ("objects", pa.list_(BOX)),
            ("landcover", pa.list_(SHARE)),
            ("extra", pa.string()),
            ("image_id", pa.string()),
            ("image_ext", pa.string()),
            ("byte_size", pa.int64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
            ("status", pa.string()),
            ("error", pa.string()),
            ("http_status", pa.int32()),
            ("fetched_at", TS),
        ]
    ),
    "filtered_pool": pa.schema(
        [
            ("record_id", pa.string()),
            ("image_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
            ("kept", pa.bool_()),
            ("drop_reason", pa.string()),
            ("phash", pa.uint64()),
            ("width", pa.int32()),
            ("height", pa.int32()),
        ]
    ),
    "image_clusters": pa.schema(
        [
            ("image_id", pa.string()),
            ("cluster_id", pa.string()),
            ("is_canonical", pa.bool_()),
            ("cluster_size", pa.int32()),
            ("record_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
        ]
    ),
    "captions": pa.schema(
        [
            ("caption_id", pa.string()),
            ("image_id", pa.string()),
            ("record_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
            ("strategy", pa.string()),
            ("text", pa.string()),
            ("model", pa.string()),
            ("prompt_id", pa.string()),
            ("request_hash", pa.string()),
            ("prompt_tokens", pa.int64()),
            ("completion_tokens", pa.int64()),
            ("cost_usd", pa.float64()),
            ("status", pa.string()),
            ("facts", pa.string()),
        ]
    ),
    "instruction_sets": pa.schema(
        [
            ("instruction_id", pa.string()),
            ("image_id", pa.string()),
            ("record_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
            ("task", pa.string()),
            ("conversations", pa.string()),
            ("caption_ids", pa.list_(pa.string())),
        ]
    ),
    "benchmark_splits": pa.schema(
        [
            ("image_id", pa.string()),
            ("record_id", pa.string()),
            ("cluster_id", pa.string()),
            ("source", pa.string()),
            ("year", pa.int32()),
            ("split", pa.string()),
            ("geo_cell", pa.string()),
        ]
    ),
}

KEYS: dict[str, tuple[str, ...]] = {
    "raw_scrape": ("record_id",),
    "filtered_pool": ("record_id",),
    "image_clusters": ("image_id",),
    "captions": ("caption_id",),
    "instruction_sets": ("instruction_id",),
    "benchmark_splits": ("image_id",),
}


def schema_problems(table_name: str, schema: pa.Schema) -> list[str]:
    """Contract columns missing or of the wrong type; empty when the schema honours the contract."""
    problems = []
    for fld in SCHEMAS[table_name]:
        idx = schema.get_field_index(fld.name)
        if idx < 0:
            problems.append(f"missing column {fld.name}")
        elif not schema.field(idx).type.equals(fld.type):
            problems.append(f"{fld.name}: {schema.field(idx).type} != {fld.type}")
    return problems


def from_rows(table_name: str, rows: list[dict], extra: pa.Schema | None = None) -> pa.Table:
    """Build a table with the contract schema (plus `extra` columns) from row dicts."""
    schema = SCHEMAS[table_name]
    if extra is not None:
        schema = pa.unify_schemas([schema, extra])
    return pa.Table.from_pylist(rows, schema=schema)
