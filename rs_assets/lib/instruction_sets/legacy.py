"""Legacy annotations restated as instructions (RS-GPT4V's instruction-annotation adaption): a dataset's
own captions (RSICD, UCM-captions, SkyScript...) and VQA (RSVQA) become conversations as they are,
without paying a model for what humans already wrote. Nothing is generated: with no `ref_captions` /
`ref_qa` on the record the task is skipped with its reason.
"""

from __future__ import annotations

from rs_assets.lib.instruction_sets.inputs import Answer, TaskInput

CAPTION_QUESTIONS = (
    "Describe this remote sensing image in one sentence.",
    "Write a short caption for this aerial/satellite image.",
    "What does this overhead scene show? Answer in one sentence.",
)
SHORT_ANSWER = "Answer the question using a single word or phrase."  # LLaVA-1.5's VQA prompt suffix


def legacy_caption(inp: TaskInput) -> Answer:
    """One of the dataset's own captions as the answer to a caption request."""
    ref = inp.legacy_ref
    if ref is None:
        return [], [], "no_ref_captions"
    return [(inp.choose(CAPTION_QUESTIONS, "legacy_caption"), ref)], [], None


def legacy_vqa(inp: TaskInput) -> Answer:
    """Every QA pair of the dataset, in its order, as one multi-turn conversation (LLaVA-1.5 style)."""
    pairs = [
        (f"{qa['question'].strip()}\n{SHORT_ANSWER}", str(qa["answer"]).strip())
        for qa in inp.record.get("ref_qa") or []
        if qa.get("question") and qa.get("answer") is not None and str(qa["answer"]).strip()
    ]
    return (pairs, [], None) if pairs else ([], [], "no_ref_qa")
