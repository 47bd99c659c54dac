"""Legacy annotations restated as instructions (RS-GPT4V's instruction-annotation adaption): a dataset's
own captions (RSICD, UCM-captions, SkyScript...) and VQA (RSVQA) become conversations as they are,
without paying a model for what humans already wrote. Nothing is generated: with no `ref_captions` /
`ref_qa` on the record the task is skipped with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rs_assets.lib.records import stable_hash

CAPTION_QUESTIONS = (
    "Describe this remote sensing image in one sentence.",
    "Write a short caption for this aerial/satellite image.",
    "What does this overhead scene show? Answer in one sentence.",
)
SHORT_ANSWER = "Answer the question using a single word or phrase."  # LLaVA-1.5's VQA prompt suffix
Answer = tuple[
    list[tuple[str, str]], list[str], str | None
]  # the tasks registry's (pairs, caption ids, skip)


def _choice(options: Sequence[Any], *key: Any) -> Any:
    """Deterministic per key: varied across records, stable across runs."""
    return options[int(stable_hash(*key), 16) % len(options)]


def legacy_caption(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    """One of the dataset's own captions as the answer to a caption request."""
    refs = [c for c in record.get("ref_captions") or [] if c and c.strip()]
    if not refs:
        return [], [], "no_ref_captions"
    rid = record["record_id"]
    return [(_choice(CAPTION_QUESTIONS, rid, "legacy_caption"), _choice(refs, rid, "ref").strip())], [], None


def legacy_vqa(record: dict[str, Any], captions: Sequence[dict[str, Any]]) -> Answer:
    """Every QA pair of the dataset, in its order, as one multi-turn conversation (LLaVA-1.5 style)."""
    pairs = [
        (f"{qa['question'].strip()}\n{SHORT_ANSWER}", str(qa["answer"]).strip())
        for qa in record.get("ref_qa") or []
        if qa.get("question") and qa.get("answer") is not None and str(qa["answer"]).strip()
    ]
    return (pairs, [], None) if pairs else ([], [], "no_ref_qa")
