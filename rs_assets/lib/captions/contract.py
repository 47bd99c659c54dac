"""captions' contract: one row per caption (or one failure row per image and strategy)."""

import pyarrow as pa

from rs_assets.lib.captions.strategies import ROW_STRATEGIES
from rs_assets.lib.llm.request import STATUSES
from rs_assets.lib.stages import Column, Stage

CAPTIONS = Stage(
    name="captions",
    description="One row per caption; only canonical kept images (never pay twice for one scene). "
    "Failures are rows with a status, never missing.",
    partitioned=True,
    job="partition",
    columns=(
        Column("caption_id", pa.string(), "hash of record, image, strategy, prompt id, model, index"),
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("record_id", pa.string(), "the canonical record captioned"),
        Column("source", pa.string(), "source name"),
        Column("year", pa.int32(), "partition year"),
        Column("strategy", pa.string(), "which captioner wrote it (vocabulary below)"),
        Column("text", pa.string(), "the caption (NULL on failure rows)"),
        Column("model", pa.string(), "model name, or the local template backend"),
        Column("prompt_id", pa.string(), "`<prompt>.<version>` under rs_assets/prompts"),
        Column("request_hash", pa.string(), "fingerprint of the request (response-store key)"),
        Column("prompt_tokens", pa.int64(), "prompt tokens attributed to this row"),
        Column("completion_tokens", pa.int64(), "completion tokens attributed to this row"),
        Column("cost_usd", pa.float64(), "dollars attributed to this row (sums to the run's total)"),
        Column("status", pa.string(), "`ok` or why there is no caption (vocabulary below)"),
        Column("facts", pa.string(), "JSON of structured answers (GAIA tags, booleans; meta families)"),
    ),
    extra=(
        Column("cached_tokens", pa.int64(), "prompt tokens served from the provider's prompt cache"),
        Column("finish_reason", pa.string(), "the model's finish_reason"),
        Column("error", pa.string(), "the failure, redacted"),
        Column("caption_index", pa.int32(), "position among the captions of one answer"),
        Column("prompt_version", pa.string(), "version part of prompt_id"),
        Column("detail", pa.string(), "image detail sent (`low`, `high`)"),
    ),
    keys=("caption_id",),
    derived_from={
        "caption_id": ("raw_scrape.record_id", "raw_scrape.image_id"),
        "record_id": ("raw_scrape.record_id",),
        "image_id": ("raw_scrape.image_id",),
    },
    vocabularies={"status": STATUSES, "strategy": ROW_STRATEGIES},
    preview=("strategy", "status", "model", "text"),
    rules=(
        ("ExpectColumnValuesToBeBetween", {"column": "cost_usd", "min_value": 0}),
        ("ExpectColumnValuesToNotBeNull", {"column": "strategy"}),
    ),
)
