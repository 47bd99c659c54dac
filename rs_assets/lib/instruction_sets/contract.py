"""instruction_sets' contract: one row per (canonical image, task)."""

import pyarrow as pa

from rs_assets.lib.instruction_sets.tasks import SKIP_REASONS, TASKS
from rs_assets.lib.stages import Column, Stage

INSTRUCTION_SETS = Stage(
    name="instruction_sets",
    description="One row per (canonical image, task): a LLaVA conversation, or `skipped` with a reason.",
    partitioned=True,
    job="partition",
    columns=(
        Column("instruction_id", pa.string(), "hash of record, image, task, task version, conversation"),
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("record_id", pa.string(), "the canonical record"),
        Column("source", pa.string(), "source name"),
        Column("year", pa.int32(), "partition year"),
        Column("task", pa.string(), "instruction task (vocabulary below)"),
        Column("conversations", pa.string(), "LLaVA turns as JSON, boxes on 0-1000 (NULL unless ok)"),
        Column("caption_ids", pa.list_(pa.string()), "captions the answer quotes"),
    ),
    extra=(
        Column(
            "prompt_id",
            pa.string(),
            "`instruction_<task>.<version>`, or the model prompt `instruction_llm.<v>`",
        ),
        Column("status", pa.string(), "`ok`, `skipped` or `failed` (vocabulary below)"),
        Column("skip_reason", pa.string(), "why the row holds no conversation (vocabulary below)"),
        Column(
            "regions",
            pa.string(),
            "JSON {width, height, spans: [{turn, start, end, boxes: [{cls, x1, y1, x2, y2, poly}]}]}: "
            "where each list of boxes sits in the turns, in pixels, so exports rewrite it per target "
            "(NULL unless ok)",
        ),
        Column("error", pa.string(), "what failed validation or the model call (`failed` rows)"),
        Column("model", pa.string(), "the model that phrased the conversation (NULL: the templates)"),
        Column("request_hash", pa.string(), "fingerprint of the model request (response-store key)"),
        Column("cost_usd", pa.float64(), "dollars of the model call (0 for the templates)"),
    ),
    keys=("instruction_id",),
    derived_from={
        "instruction_id": ("captions.record_id", "captions.image_id", "captions.text"),
        "caption_ids": ("captions.caption_id",),
        "conversations": ("captions.text",),
        "image_id": ("captions.image_id",),
        "record_id": ("captions.record_id",),
    },
    vocabularies={
        "task": {t.name: t.description for t in TASKS.values()},
        "status": {
            "ok": "a conversation",
            "skipped": "nothing in the record grounds the task, or the mix or the image cap left it out",
            "failed": "the conversation broke a validation rule, or the model's answer was unusable or "
            "contradicted the record (see `error`); never exported",
        },
        "skip_reason": SKIP_REASONS,
    },
    preview=("task", "status", "skip_reason", "conversations"),
)
