"""The caption_scores vocabularies: signal names, row statuses and selection decisions (no heavy imports,
so the sources schema can validate `select.by` against them)."""

from __future__ import annotations

from rs_assets.lib.llm.request import STATUSES

SIGNALS: dict[str, str] = {
    "hallucinated_objects": "classes the caption names that the record's objects, labels and land cover do "
    "not attest (count; evidence: the phrases)",
    "count_mismatch": "object counts the caption states that contradict the annotated objects",
    "date_mismatch": "months or seasons the caption names that contradict the acquisition date",
    "sensor_mismatch": "sensor family, resolution class or GSD that contradicts the metadata",
    "language": "fastText lid.176 confidence of the top language (evidence); score 1 when it is the "
    "expected language, else P(expected language)",
    "repetition": "share of word trigrams that repeat an earlier one",
    "boilerplate": "web/model boilerplate phrases (click here, copyright, as an AI...)",
    "length": "words in the caption; score falls off below 6 and above 120 words",
    "near_duplicate": "highest word-bigram Jaccard overlap with a better-ranked caption of the same image "
    "(evidence: its caption_id)",
    "clip_alignment": "open_clip image-text cosine (only with RS_ASSETS_CLIP_WEIGHTS; else skipped)",
    "judge_relevance": "LLM judge, RS5M rubric: relevance/detail 1-5 (only with `judge: true`)",
    "judge_hallucination": "LLM judge: 5 = nothing invented, 1 = mostly invented",
    "judge_fluency": "LLM judge: grammar and readability 1-5",
    "overall": "the selection: value = mean of the policy's `by` scores (ranks the eligible captions), "
    "score = the weakest of them (below select.min_score: low_score), rank and decision",
}
ROW_STATUSES: dict[str, str] = {
    **{k: v for k, v in STATUSES.items() if k != "no_metadata"},
    "skipped": "the signal cannot be computed here; `detail` says why (no annotations, no weights, off)",
}
DECISIONS: dict[str, str] = {
    "selected": "exported: among the top_k of its image and above min_score",
    "hallucinated_object": "names a class the record does not attest (hallucinated_objects > 0)",
    "wrong_language": "identified as another language than the source's `select.language`",
    "duplicate": "near-duplicate (near_duplicate >= select.max_overlap) of a better-ranked caption",
    "low_score": "a `by` signal scored below select.min_score (a wrong count, season, sensor; boilerplate; "
    "too short; a low judge rating...)",
    "below_top_k": "eligible, but ranked below the top_k captions of its image",
}
DEFAULT_BY: tuple[str, ...] = (
    "hallucinated_objects",
    "count_mismatch",
    "date_mismatch",
    "sensor_mismatch",
    "language",
    "repetition",
    "boilerplate",
    "length",
    "clip_alignment",
    "judge_relevance",
    "judge_hallucination",
    "judge_fluency",
)
