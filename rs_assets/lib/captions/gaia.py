"""GAIA strategy: a text model condenses long article text, then one structured vision call returns
tags, location, modality, satellite, sensor, resolution class, the is_remote_sensing / is_chart booleans
and exactly five prefixed captions. The structured fields ride along on every row (`facts`) so they can
feed back into the pool as scores."""

from __future__ import annotations

from typing import Any

from rs_assets.lib.captions.context import Context, image_ref
from rs_assets.lib.captions.facts import rule_text
from rs_assets.lib.captions.prompts import load_prompt
from rs_assets.lib.captions.rows import caption_rows
from rs_assets.lib.captions.schemas import gaia_format, parse_gaia, parse_paragraph
from rs_assets.lib.llm.request import LLMRequest, Outcome

SUMMARY = ("gaia_summary", "v2")
VISION = ("gaia_vision", "v2")


def summary_request(rec: dict[str, Any], model: str) -> LLMRequest:
    p = load_prompt(*SUMMARY)
    text = rec.get("text") or ""
    return LLMRequest(
        model=model,
        system=p.system,
        user=p.render(title=rec.get("title") or "", text=text),
        prompt_id=p.id,
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"],
        context={"task": "gaia_summary", "text": text},
    )


def vision_request(ctx: Context, rec: dict[str, Any], facts: dict[str, Any], summary: str) -> LLMRequest:
    p, s = load_prompt(*VISION), ctx.settings
    user = p.render(
        prefix=s.gaia_prefix,
        title=rec.get("title") or "",
        alt_text=rec.get("alt_text") or "",
        summary=summary or "(none)",
        credits=rec.get("credits") or "",
        facts=rule_text(facts),
    )
    return LLMRequest(
        model=s.vision_model,
        system=p.system,
        user=user,
        prompt_id=p.id,
        image=image_ref(rec, s.image_mode),
        response_format=gaia_format(s.gaia_prefix),
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"],
        context={"task": "gaia_vision", "facts": facts, "prefix": s.gaia_prefix},
    )


async def gaia_rows(ctx: Context, rec: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    model, prompt_id = ctx.settings.vision_model, load_prompt(*VISION).id
    outcomes: list[Outcome] = []
    summary = (rec.get("text") or "").strip()
    if len(summary) >= ctx.settings.gaia_summary_min_chars:
        outcome = await ctx.ask("gaia", summary_request(rec, ctx.settings.text_model), parse_paragraph)
        outcomes.append(outcome)
        if not outcome.usable:
            return caption_rows(rec, "gaia", [], outcomes, prompt_id=prompt_id, model=model)
        summary = outcome.value
    request = vision_request(ctx, rec, facts, summary)
    outcome = await ctx.ask("gaia", request, parse_gaia(ctx.settings.gaia_prefix))
    outcomes.append(outcome)
    answer = outcome.value
    extras = answer.model_dump(exclude={"captions"}) if outcome.usable else None
    if extras is not None and len(outcomes) > 1:
        extras["summary_prompt_id"] = outcomes[0].request.prompt_id
    return caption_rows(
        rec,
        "gaia",
        list(answer.captions) if outcome.usable else [],
        outcomes,
        prompt_id=prompt_id,
        model=model,
        facts=extras,
    )
