"""Instruction rows: one per (image, task) of the source's mix: a LLaVA conversation (`ok`), or
`skipped` with the reason nothing grounds it (or the mix / cap left it out), or `failed` when the
conversation breaks a validation rule."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rs_assets.lib.captions.strategies import PREFERENCE
from rs_assets.lib.instruction_sets.boxes import STORED_CONVENTION, render
from rs_assets.lib.instruction_sets.inputs import Pair, TaskInput, Vocabulary
from rs_assets.lib.instruction_sets.mix import capped, drawn, instruction_mix
from rs_assets.lib.instruction_sets.tasks import TASKS
from rs_assets.lib.instruction_sets.validate import IMAGE_TOKEN, conversation_problems, qa_pairs
from rs_assets.lib.records import stable_hash


@dataclass
class Result:
    status: str
    reason: str | None = None
    turns: list[dict[str, str]] = field(default_factory=list)
    spans: list[dict[str, Any]] = field(default_factory=list)
    caption_ids: list[str] = field(default_factory=list)
    error: str | None = None
    pairs: list[Pair] = field(default_factory=list)  # what the turns were rendered from (boxes in pixels)
    model: str | None = None  # who phrased it: None for the templates, else the LLM backend's model
    prompt_id: str | None = None  # the model prompt (default: the task's own id)
    request_hash: str | None = None
    cost_usd: float = 0.0


def render_turns(pairs: Sequence[Pair], width: int, height: int) -> tuple[list[dict[str, str]], list[dict]]:
    """LLaVA turns with boxes in the stored convention, and their spans; the image token opens the
    first human turn only."""
    turns, spans = [], []
    for i, (question, answer) in enumerate(pairs):
        if i == 0:
            question = (IMAGE_TOKEN + "\n", *((question,) if isinstance(question, str) else question))
        for role, turn, text in (("human", 2 * i, question), ("gpt", 2 * i + 1, answer)):
            value, found = render(text, STORED_CONVENTION, width, height, turn)
            turns.append({"from": role, "value": value})
            spans += found
    return turns, spans


def validated(inp: TaskInput, pairs: Sequence[Pair], caption_ids: list[str], **call: Any) -> Result:
    """The rendered conversation, or `failed` naming every validation rule it breaks."""
    turns, spans = render_turns(pairs, inp.width, inp.height)
    problems = conversation_problems(turns, spans, inp.width, inp.height)
    if problems:
        return Result("failed", "invalid_conversation", error="; ".join(problems), **call)
    return Result("ok", turns=turns, spans=spans, caption_ids=caption_ids, pairs=list(pairs), **call)


def _answer(inp: TaskInput, name: str) -> Result:
    pairs, caption_ids, skip = TASKS[name].answer(inp)
    return Result("skipped", skip) if skip else validated(inp, pairs, caption_ids)


def drop_repeats(results: dict[str, Result]) -> None:
    """A (question, answer) pair already in an earlier conversation of the image fails the later one."""
    seen: set[tuple[str, str]] = set()
    for res in results.values():
        if res.status != "ok":
            continue
        pairs = set(qa_pairs(res.turns))
        if pairs & seen:
            res.status, res.reason, res.error = "failed", "duplicate_pair", "a pair repeats another task's"
        seen |= pairs


def image_results(
    inp: TaskInput, shares: Mapping[str, float], max_per_image: int | None = None
) -> dict[str, Result]:
    """Every task of the mix for one image, in mix order."""
    image = inp.record["image_id"]
    results = {
        name: _answer(inp, name) if drawn(image, name, share) else Result("skipped", "not_drawn")
        for name, share in shares.items()
    }
    drop_repeats(results)
    for name in capped(image, [n for n, r in results.items() if r.status == "ok"], max_per_image):
        results[name] = Result("skipped", "image_cap")
    return results


def _row(record: dict[str, Any], name: str, res: Result, width: int, height: int) -> dict[str, Any]:
    task = TASKS[name]
    prompt_id = res.prompt_id or task.prompt_id
    conversations = json.dumps(res.turns, ensure_ascii=False) if res.status == "ok" else None
    regions = {"width": width, "height": height, "spans": res.spans}
    return {
        "instruction_id": stable_hash(
            "instruction", record["record_id"], record["image_id"], name, task.version, conversations
        ),
        "image_id": record["image_id"],
        "record_id": record["record_id"],
        "source": record["source"],
        "year": record["year"],
        "task": name,
        "conversations": conversations,
        "caption_ids": res.caption_ids,
        "prompt_id": prompt_id,
        "status": res.status,
        "skip_reason": res.reason,
        "regions": json.dumps(regions) if res.status == "ok" else None,
        "error": res.error,
        "model": res.model,
        "request_hash": res.request_hash,
        "cost_usd": res.cost_usd,
    }


Planned = list[tuple[TaskInput, dict[str, Result]]]


def plan_instructions(
    records: Sequence[dict[str, Any]],
    captions: Sequence[dict[str, Any]],
    mix: Mapping[str, float] | Sequence[str],
    vocabulary: Vocabulary = Vocabulary(),  # noqa: B008  (frozen)
    max_per_image: int | None = None,
) -> Planned:
    """Every record's template results per task of the mix (what the model path then rephrases)."""
    shares = instruction_mix(dict(mix) if isinstance(mix, Mapping) else list(mix))
    by_image: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cap in captions:
        if cap["status"] == "ok" and cap["strategy"] in PREFERENCE:
            by_image[cap["image_id"]].append(cap)
    planned = []
    for record in records:
        inp = TaskInput(record, by_image.get(record["image_id"], []), vocabulary)
        planned.append((inp, image_results(inp, shares, max_per_image)))
    return planned


def instruction_rows(planned: Planned) -> list[dict[str, Any]]:
    return [
        _row(inp.record, name, res, inp.width, inp.height)
        for inp, results in planned
        for name, res in results.items()
    ]


def build_instructions(
    records: Sequence[dict[str, Any]],
    captions: Sequence[dict[str, Any]],
    mix: Mapping[str, float] | Sequence[str],
    vocabulary: Vocabulary = Vocabulary(),  # noqa: B008  (frozen)
    max_per_image: int | None = None,
) -> list[dict[str, Any]]:
    """One row per (record, task of the mix), from the templates. `vocabulary` is the source's classes
    (derive it with `inputs.source_vocabulary` from the whole partition); `vqa_absent` asks about the
    rest of it."""
    return instruction_rows(plan_instructions(records, captions, mix, vocabulary, max_per_image))
