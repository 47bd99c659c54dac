"""The model path of the free-text tasks (`instruction_backend: llm`, RS-GPT4V): a vision model
rephrases each template conversation from the rule facts and the image, through the captions' Runner
(response store, budget, rate limits, dry run, Batch API), so a rerun sends no request.

The template conversation is the reference and the truth: the model answers with exactly its number
of turns (structured output), keeps a `<boxes>` marker wherever the reference has boxes (the record's
boxes go back in there, never the model's), and lists the counts and absences it states. An answer
that contradicts the record (a count, an absent class named present or a present one absent,
coordinates) does not validate: it is a `failed` row with its reason, not stored, asked again next run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from rs_assets.lib.caption_scores.consistency import count_mismatch
from rs_assets.lib.captions.context import image_ref
from rs_assets.lib.captions.engine import build_runner, check_prices, run_sync
from rs_assets.lib.captions.facts import rule_text
from rs_assets.lib.captions.prompts import load_prompt
from rs_assets.lib.captions.schemas import expected_count
from rs_assets.lib.instruction_sets.boxes import Boxes, Text
from rs_assets.lib.instruction_sets.build import (
    Planned,
    Result,
    drop_repeats,
    instruction_rows,
    plan_instructions,
    validated,
)
from rs_assets.lib.instruction_sets.inputs import Pair, TaskInput, Vocabulary, related
from rs_assets.lib.instruction_sets.tasks import MODEL_TASKS
from rs_assets.lib.instruction_sets.vqa import absent_classes, present_names
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.request import LLMRequest, Outcome
from rs_assets.lib.llm.runner import Limits, Runner
from rs_assets.lib.llm.settings import BATCH_INSTRUCTIONS, LLMSettings

PROMPT = ("instruction_llm", "v1")
BOX_MARK = "<boxes>"
SCHEMA_NAME = "instruction_conversation"
NOT_SENT = ("dry_run", "pending", "budget_exhausted")  # outcomes that become skipped rows of that reason
COORDINATES = re.compile(
    r"\[\s*\d+(?:\.\d+)?\s*(?:,\s*\d+(?:\.\d+)?\s*){3}\]"  # [x1, y1, x2, y2]
    r"|\(\s*\d+\s*,\s*\d+\s*\)\s*,\s*\(\s*\d+\s*,\s*\d+\s*\)"  # (x1,y1),(x2,y2)
    r"|<\d+><\d+><\d+><\d+>"  # GeoChat
)


class Turn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    answer: str


class CountClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cls: str
    count: int = Field(ge=0)


class ConversationAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    turns: list[Turn]
    counts: list[CountClaim]
    absent: list[str]

    @field_validator("turns")
    @classmethod
    def _count(cls, turns: list[Turn], info: ValidationInfo) -> list[Turn]:
        expected_count(turns, info, "turns")
        if any(not t.question.strip() or not t.answer.strip() for t in turns):
            raise ValueError("empty turn")
        return turns


def conversation_format(count: int) -> dict[str, Any]:
    """Strict json_schema written out (no $refs), so any OpenAI-compatible server can honour it."""

    def obj(props: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": props, "required": list(props), "additionalProperties": False}

    text = {"type": "string"}
    schema = obj(
        {
            "turns": {
                "type": "array",
                "items": obj({"question": text, "answer": text}),
                "minItems": count,
                "maxItems": count,
            },
            "counts": {
                "type": "array",
                "items": obj({"cls": text, "count": {"type": "integer", "minimum": 0}}),
            },
            "absent": {"type": "array", "items": text},
        }
    )
    return {"type": "json_schema", "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": schema}}


def _marked(text: Text) -> tuple[str, list[Boxes]]:
    """A template text with each list of boxes replaced by the marker, and the boxes in order."""
    if isinstance(text, str):
        return text, []
    boxes = [seg for seg in text if isinstance(seg, Boxes)]
    return "".join(BOX_MARK if isinstance(seg, Boxes) else seg for seg in text), boxes


def _unmarked(text: str, boxes: list[Boxes]) -> Text | None:
    """The model's text with the record's boxes back at the markers; None when the markers differ."""
    parts = text.split(BOX_MARK)
    if len(parts) != len(boxes) + 1:
        return None
    if not boxes:
        return text
    out: list[str | Boxes] = [parts[0]]
    for box, part in zip(boxes, parts[1:], strict=True):
        out += [box, part]
    return tuple(out)


@dataclass(frozen=True)
class Reference:
    """The template conversation as the model sees it (`turns`) and the boxes of each of its texts."""

    turns: list[dict[str, str]]
    boxes: list[tuple[list[Boxes], list[Boxes]]]

    @classmethod
    def of(cls, pairs: Sequence[Pair]) -> Reference:
        turns, boxes = [], []
        for question, answer in pairs:
            (q, qb), (a, ab) = _marked(question), _marked(answer)
            turns.append({"question": q, "answer": a})
            boxes.append((qb, ab))
        return cls(turns, boxes)


class Contradiction(ValueError):
    """The answer validates against the schema but contradicts the record (`reason` in SKIP_REASONS)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason, self.detail = reason, detail


def _object_counts(inp: TaskInput) -> dict[str, int]:
    return dict(Counter(str(o["cls"]) for o in inp.objects))


def contradiction(inp: TaskInput, answer: ConversationAnswer) -> Contradiction | None:
    """The first way the answer contradicts what the record knows, or None."""
    texts = [t for turn in answer.turns for t in (turn.question, turn.answer)]
    written = next((m.group(0) for t in texts for m in [COORDINATES.search(t)] if m), None)
    if written:
        return Contradiction("llm_boxes", f"coordinates written: {written}")
    counts, present = _object_counts(inp), present_names(inp)
    lacking = [name for kind, name in absent_classes(inp) if kind == "object"]  # as vqa_absent knows them
    for claim in answer.counts:
        same = [c for c in counts if related(claim.cls, c)]
        if same and claim.count != sum(counts[c] for c in same):
            return Contradiction(
                "llm_wrong_count", f"{claim.count} {claim.cls} (annotated: {sum(counts[c] for c in same)})"
            )
        if claim.count and not same and any(related(claim.cls, c) for c in lacking):
            return Contradiction("llm_wrong_absence", f"{claim.count} {claim.cls}, a class the image lacks")
    for name in answer.absent:
        if any(related(name, p) for p in present):
            return Contradiction("llm_wrong_absence", f"{name} said absent, the record has it")
    annotated = {**inp.record, "objects": inp.objects}  # malformed objects are no annotation
    for text in (turn.answer for turn in answer.turns):
        wrong = count_mismatch(text, annotated)
        if wrong.value:
            return Contradiction("llm_wrong_count", str(wrong.evidence))
    return None


def pairs_of(answer: ConversationAnswer, ref: Reference) -> list[Pair]:
    """The answer's turns with the record's boxes back in; Contradiction when a marker is missing or extra."""
    out: list[Pair] = []
    for i, (turn, (qb, ab)) in enumerate(zip(answer.turns, ref.boxes, strict=True)):
        question, reply = _unmarked(turn.question, qb), _unmarked(turn.answer, ab)
        if question is None or reply is None:
            text, want = (turn.question, len(qb)) if question is None else (turn.answer, len(ab))
            raise Contradiction(
                "llm_boxes", f"turn {i}: {text.count(BOX_MARK)} {BOX_MARK} markers, expected {want}"
            )
        out.append((question, reply))
    return out


def parser(inp: TaskInput, ref: Reference) -> Callable[[str], list[Pair]]:
    """Schema, turn count, markers and the record checks: what the Runner stores is only a true answer."""

    def parse(content: str) -> list[Pair]:
        answer = ConversationAnswer.model_validate_json(content, context={"count": len(ref.turns)})
        pairs = pairs_of(answer, ref)
        found = contradiction(inp, answer)
        if found:
            raise found
        return pairs

    return parse


def why_invalid(inp: TaskInput, ref: Reference, content: str | None) -> tuple[str, str]:
    """(reason, detail) of an answer the parser refused: a contradiction's own reason, else unusable."""
    try:
        parser(inp, ref)(content or "")
    except Contradiction as exc:
        return exc.reason, exc.detail
    except (ValueError, TypeError, KeyError) as exc:  # what the Runner's judge counts as invalid
        return "llm_unusable", f"invalid: {type(exc).__name__}: {str(exc)[:300]}"
    return "llm_unusable", "invalid"


def conversation_request(settings: LLMSettings, inp: TaskInput, task: str, ref: Reference) -> LLMRequest:
    p = load_prompt(*PROMPT)
    user = p.render(
        task=task,
        guidance=p.params["guidance"][task],
        turns=len(ref.turns),
        facts=rule_text(inp.facts),
        reference=json.dumps(ref.turns, ensure_ascii=False, indent=1),
    )
    return LLMRequest(
        model=settings.vision_model,
        system=p.system,
        user=user,
        prompt_id=p.id,
        image=image_ref(inp.record, settings.image_mode),
        response_format=conversation_format(len(ref.turns)),
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"],
        context={"task": "instruction", "reference": ref.turns, "counts": _object_counts(inp)},
    )


def offline_answer(request: LLMRequest) -> str:
    """The local backend's answer: the reference itself with the record's counts (true by construction)."""
    ctx = request.context
    counts = [{"cls": c, "count": n} for c, n in sorted(ctx["counts"].items())]
    return json.dumps({"turns": ctx["reference"], "counts": counts, "absent": []})


def phrased(inp: TaskInput, template: Result, outcome: Outcome, ref: Reference) -> Result:
    """The row a model outcome gives: the model's conversation (validated), or why there is none."""
    done = outcome.completion
    call = {
        "model": outcome.request.model,
        "prompt_id": outcome.request.prompt_id,
        "request_hash": outcome.request.fingerprint,
        "cost_usd": done.cost_usd if done is not None and outcome.status != "dry_run" else 0.0,
    }
    if outcome.status == "ok":
        return validated(inp, outcome.value, template.caption_ids, **call)
    if outcome.status in NOT_SENT:
        return Result("skipped", outcome.status, error=outcome.error, **call)
    if outcome.status == "invalid" and done is not None:
        reason, detail = why_invalid(inp, ref, done.content)
        return Result("failed", reason, error=detail, **call)
    return Result("failed", "llm_unusable", error=f"{outcome.status}: {outcome.error or ''}".strip(), **call)


async def _phrase_all(runner: Runner, settings: LLMSettings, planned: Planned) -> None:
    """Every ok template result of a model task, rephrased in place; Batch API requests are collected,
    flushed and asked again (one round: a conversation is a single call)."""
    batch = BATCH_INSTRUCTIONS in settings.batch and runner.batch_backend is not None
    jobs = [
        (inp, results, name, results[name], Reference.of(results[name].pairs))
        for inp, results in planned
        for name in results
        if name in MODEL_TASKS and results[name].status == "ok"
    ]
    for _ in range(2):
        outcomes = await asyncio.gather(
            *(
                runner.run(conversation_request(settings, inp, name, ref), parser(inp, ref), batch=batch)
                for inp, _, name, _, ref in jobs
            )
        )
        for (inp, results, name, template, ref), outcome in zip(jobs, outcomes, strict=True):
            results[name] = phrased(inp, template, outcome, ref)
        jobs = [job for job, o in zip(jobs, outcomes, strict=True) if o.status == "pending"]
        if not jobs or not batch or not await runner.batch_backend.flush():  # type: ignore[union-attr]
            break
    for _, results in planned:
        drop_repeats(results)


@dataclass
class InstructionResult:
    rows: list[dict[str, Any]]
    stats: dict[str, Any]  # flat numbers for Dagster metadata (`llm/...` when the model was used)


def instruction_partition(
    records: Sequence[dict[str, Any]],
    captions: Sequence[dict[str, Any]],
    mix: Mapping[str, float] | Sequence[str],
    vocabulary: Vocabulary,
    max_per_image: int | None,
    *,
    backend: str = "local",
    lake: Lake | None = None,
    settings: LLMSettings | None = None,
    log: logging.Logger | None = None,
    limits: Limits | None = None,
) -> InstructionResult:
    """Instruction rows of one partition: the templates (`local`), then, under `llm`, the model tasks
    rephrased on the configured LLM backend (RS_ASSETS_LLM). Raises ValueError for unpriced models when
    a budget is set, before any request. `limits`: the budget and pacing of a sharded run."""
    planned = plan_instructions(records, captions, mix, vocabulary, max_per_image)
    if backend != "llm":
        return InstructionResult(instruction_rows(planned), {"backend": "local"})
    if lake is None or settings is None:
        raise ValueError("instruction_backend llm needs the lake and the LLM settings")
    check_prices(settings, [settings.vision_model])
    runner = build_runner(settings, lake, log, answer=offline_answer, limits=limits)

    async def run() -> None:
        try:
            await _phrase_all(runner, settings, planned)
        finally:
            await runner.aclose()

    run_sync(run())
    stats = {"backend": settings.backend, "dry_run": settings.dry_run, **runner.summary()}
    return InstructionResult(instruction_rows(planned), stats)
