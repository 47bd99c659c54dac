"""caption_scores' contract: one row per candidate caption and signal (plus its `overall` selection row)."""

import pyarrow as pa

from rs_assets.lib.caption_scores.vocab import DECISIONS, ROW_STATUSES, SIGNALS
from rs_assets.lib.stages import Column, Stage

CAPTION_SCORES = Stage(
    name="caption_scores",
    description="Quality signals for every ok final caption (fact consistency, language, repetition, "
    "length, near-duplicates, optional CLIP and LLM judge) and the per-image selection the release "
    "exports. Signals that cannot run are `skipped` rows with the reason, never missing.",
    partitioned=True,
    job="partition",
    columns=(
        Column("score_id", pa.string(), "hash of caption_id and signal"),
        Column("caption_id", pa.string(), "the caption scored"),
        Column("image_id", pa.string(), "sha256 of the image bytes"),
        Column("record_id", pa.string(), "the record the caption describes"),
        Column("source", pa.string(), "source name"),
        Column("year", pa.int32(), "partition year"),
        Column("strategy", pa.string(), "the caption's strategy"),
        Column("signal", pa.string(), "what was measured (vocabulary below)"),
        Column("value", pa.float64(), "the raw number (count, share, confidence, 1-5 rating)"),
        Column("score", pa.float64(), "0-1, higher is better (what selection averages)"),
        Column("evidence", pa.string(), "the offending phrase, detected language or duplicated caption"),
        Column("status", pa.string(), "`ok`, `skipped`, or the judge call's status (vocabulary below)"),
    ),
    extra=(
        Column("detail", pa.string(), "why skipped, or the judge's error"),
        Column("rank", pa.int32(), "overall rows: rank among the image's eligible captions"),
        Column("decision", pa.string(), "overall rows: `selected` or why not exported (vocabulary below)"),
        Column("model", pa.string(), "the model that produced the signal (language id, judge)"),
        Column("prompt_id", pa.string(), "judge rows: `caption_judge.<version>`"),
        Column("request_hash", pa.string(), "judge rows: fingerprint of the request"),
        Column("cost_usd", pa.float64(), "judge rows: dollars attributed to this row"),
    ),
    keys=("score_id",),
    vocabularies={"signal": SIGNALS, "status": ROW_STATUSES, "decision": DECISIONS},
    preview=("signal", "status", "value", "evidence", "decision"),
    rules=(("ExpectColumnValuesToBeBetween", {"column": "score", "min_value": 0, "max_value": 1}),),
)
