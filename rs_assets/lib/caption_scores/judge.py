"""The LLM judge: one structured vision call per image rates all its candidate captions on the RS5M
rubric (relevance, hallucination, fluency, 1-5), through the captions' Runner (response store, budget,
rate limits, dry run). Off unless the source sets `judge: true`. The local backend answers with a
deterministic stand-in computed from the fact-consistency and repetition signals, so the offline demo
runs the real request path at zero cost."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from rs_assets.lib.caption_scores.consistency import hallucinated_objects, known_classes
from rs_assets.lib.caption_scores.signal import Signal, skipped
from rs_assets.lib.caption_scores.text_quality import repetition
from rs_assets.lib.captions.context import image_ref
from rs_assets.lib.captions.facts import rule_text
from rs_assets.lib.captions.prompts import load_prompt
from rs_assets.lib.captions.schemas import expected_count
from rs_assets.lib.llm.request import LLMRequest, Outcome
from rs_assets.lib.llm.runner import Runner
from rs_assets.lib.llm.settings import LLMSettings

PROMPT = ("caption_judge", "v1")
RUBRIC = ("relevance", "hallucination", "fluency")
SIGNALS = tuple(f"judge_{r}" for r in RUBRIC)


class Rating(BaseModel):
    model_config = ConfigDict(extra="forbid")

    relevance: int = Field(ge=1, le=5)
    hallucination: int = Field(ge=1, le=5)
    fluency: int = Field(ge=1, le=5)


class JudgeAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ratings: list[Rating]

    @field_validator("ratings")
    @classmethod
    def _count(cls, ratings: list[Rating], info: ValidationInfo) -> list[Rating]:
        expected_count(ratings, info, "ratings")
        return ratings


def judge_format(count: int) -> dict[str, Any]:
    """Strict json_schema, written out (no $refs) so any OpenAI-compatible server can honour it."""
    item = {
        "type": "object",
        "properties": {r: {"type": "integer", "minimum": 1, "maximum": 5} for r in RUBRIC},
        "required": list(RUBRIC),
        "additionalProperties": False,
    }
    schema = {
        "type": "object",
        "properties": {"ratings": {"type": "array", "items": item, "minItems": count, "maxItems": count}},
        "required": ["ratings"],
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "caption_ratings", "strict": True, "schema": schema},
    }


def judge_request(
    settings: LLMSettings, rec: dict[str, Any], facts: dict[str, Any], texts: list[str]
) -> LLMRequest:
    p = load_prompt(*PROMPT)
    numbered = "\n".join(f"{i + 1}. {t}" for i, t in enumerate(texts))
    return LLMRequest(
        model=settings.vision_model,
        system=p.system,
        user=p.render(count=len(texts), facts=rule_text(facts), captions=numbered),
        prompt_id=p.id,
        image=image_ref(rec, settings.image_mode),
        response_format=judge_format(len(texts)),
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"] * max(1, len(texts) // 5),
        context={"task": "caption_judge", "record": rec, "texts": texts},
    )


def offline_answer(request: LLMRequest) -> str:
    """Deterministic ratings: relevance from naming what the record attests, hallucination from the
    hallucinated_objects signal, fluency from repetition."""
    rec, texts = request.context["record"], request.context["texts"]
    known = known_classes(rec) or set()
    ratings = []
    for text in texts:
        names_known = any(k.replace("_", " ") in text.lower() for k in known)
        invented = hallucinated_objects(text, rec).value or 0
        rep = repetition(text).value or 0.0
        ratings.append(
            {
                "relevance": 5 if names_known else 3,
                "hallucination": max(1, 5 - 2 * int(invented)),
                "fluency": max(1, round(5 - 4 * rep)),
            }
        )
    return json.dumps({"ratings": ratings})


def parse_judge(count: int) -> Any:
    def parse(content: str) -> JudgeAnswer:
        return JudgeAnswer.model_validate_json(content, context={"count": count})

    return parse


async def judge_image(
    runner: Runner, settings: LLMSettings, rec: dict[str, Any], facts: dict[str, Any], texts: list[str]
) -> tuple[list[list[Signal]], Outcome]:
    """Per caption its three judge signals (ok, or the outcome's status with its error), and the outcome."""
    outcome = await runner.run(judge_request(settings, rec, facts, texts), parse_judge(len(texts)))
    if outcome.status != "ok":
        why = outcome.error or outcome.status
        return [
            [Signal(s, None, None, status=outcome.status, detail=why) for s in SIGNALS] for _ in texts
        ], outcome
    out = []
    for rating in outcome.value.ratings:
        values = [getattr(rating, r) for r in RUBRIC]
        out.append([Signal(s, v, (v - 1) / 4) for s, v in zip(SIGNALS, values, strict=True)])
    return out, outcome


def judge_disabled(count: int) -> list[list[Signal]]:
    why = "judge is off for this source (set `judge: true` in the sources file)"
    return [[skipped(s, why) for s in SIGNALS] for _ in range(count)]
