"""Keep/drop rules: one decision per raw row, the first failing reason wins.

Order of reasons (DESIGN 6b, records.DROP_REASONS): fetch_failed / keyword_prefilter / removed_at_origin,
decode_error, decompression_bomb, too_small, bad_aspect, blank_image, text_too_short (web and pairs
sources only), not_remote_sensing (only where `applies_rs_filter`). Duplicates are kept: image_clusters
decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rs_assets.lib.filtered_pool.lexicon import row_text, rs_text_score
from rs_assets.lib.imaging import ImageAssessment
from rs_assets.lib.sources import applies_rs_filter

BLANK_MAX_STD = 3.0  # grey-level std (0-255) of the thumbnail at or below which a tile is blank
NODATA_MAX_ZERO_FRACTION = 0.5  # more exact-zero (all bands) pixels than this: mostly no-data
RS_THRESHOLD = 0.5  # rs score below which `not_remote_sensing` applies
TEXT_KINDS = ("web", "pairs")
# raw statuses with a drop reason of their own; every other non-ok status is fetch_failed
_STATUS_DROPS = {"prefiltered": "keyword_prefilter", "removed_at_origin": "removed_at_origin"}


@dataclass(frozen=True)
class Decision:
    kept: bool
    drop_reason: str | None
    scores: dict[str, Any] = field(default_factory=dict)


def decide(
    raw_row: dict[str, Any],
    assessment: ImageAssessment | None,
    source_cfg: Any,
    rs_score: float | None = None,
) -> Decision:
    """Keep or drop one raw row; `rs_score` overrides the lexicon score (optional model scorers)."""
    text = row_text(raw_row)
    scores: dict[str, Any] = {
        "text_words": len(text.split()),
        "text_chars": len(text),
        "rs_text_score": rs_text_score(text),
    }
    scores["rs_score"] = scores["rs_text_score"] if rs_score is None else rs_score
    if assessment is not None:
        scores.update(pixel_std=assessment.pixel_std, zero_fraction=assessment.zero_fraction)

    def drop(reason: str) -> Decision:
        return Decision(False, reason, scores)

    status = raw_row.get("status")
    if status != "ok":
        return drop(_STATUS_DROPS.get(status, "fetch_failed"))
    if assessment is None:
        return drop("decode_error")
    if assessment.error:
        return drop(assessment.error)
    width, height = assessment.width or 0, assessment.height or 0
    if min(width, height) < source_cfg.min_side:
        return drop("too_small")
    if max(width, height) / min(width, height) > source_cfg.max_aspect:
        return drop("bad_aspect")
    if (assessment.pixel_std or 0.0) <= BLANK_MAX_STD or (
        assessment.zero_fraction or 0.0
    ) > NODATA_MAX_ZERO_FRACTION:
        return drop("blank_image")
    if source_cfg.kind in TEXT_KINDS and (
        scores["text_words"] < source_cfg.min_words or scores["text_chars"] < source_cfg.min_chars
    ):
        return drop("text_too_short")
    if applies_rs_filter(source_cfg) and scores["rs_score"] < RS_THRESHOLD:
        return drop("not_remote_sensing")
    return Decision(True, None, scores)
