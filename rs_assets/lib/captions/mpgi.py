"""MpGI strategy (HQRS-IT): stage 1 relays rule facts to a vision model from K perspectives (land cover,
objects, layout, conditions); stage 2 a text model integrates them into M final captions. Perspective
texts are kept as `mpgi_perspective` rows, finals as `mpgi` rows."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from rs_assets.lib.captions.context import Context, image_ref
from rs_assets.lib.captions.facts import rule_text
from rs_assets.lib.captions.prompts import load_prompt
from rs_assets.lib.captions.rows import caption_rows
from rs_assets.lib.captions.schemas import integrate_format, parse_integrate, parse_paragraph
from rs_assets.lib.llm.request import LLMRequest

PERSPECTIVE = ("mpgi_perspective", "v2")
INTEGRATE = ("mpgi_integrate", "v2")


def perspective_names(k: int) -> list[str]:
    return list(load_prompt(*PERSPECTIVE).params["perspectives"])[:k]


def perspective_request(ctx: Context, rec: dict[str, Any], facts: dict[str, Any], name: str) -> LLMRequest:
    p = load_prompt(*PERSPECTIVE)
    user = p.render(
        perspective=name.replace("_", " "), instruction=p.params["perspectives"][name], facts=rule_text(facts)
    )
    return LLMRequest(
        model=ctx.settings.vision_model,
        system=p.system,
        user=user,
        prompt_id=p.id,
        image=image_ref(rec, ctx.settings.image_mode),
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"],
        context={"task": "mpgi_perspective", "perspective": name, "facts": facts},
    )


def integrate_request(ctx: Context, texts: dict[str, str]) -> LLMRequest:
    p, count = load_prompt(*INTEGRATE), ctx.settings.mpgi_captions
    listing = "\n".join(f"[{name.replace('_', ' ')}] {text}" for name, text in texts.items())
    return LLMRequest(
        model=ctx.settings.text_model,
        system=p.system,
        user=p.render(count=count, perspectives=listing),
        prompt_id=p.id,
        response_format=integrate_format(count),
        max_tokens=p.params["max_tokens"],
        temperature=p.params["temperature"],
        expected_completion_tokens=p.params["expected_completion_tokens"],
        context={"task": "mpgi_integrate", "perspectives": texts, "count": count},
    )


async def mpgi_rows(ctx: Context, rec: dict[str, Any], facts: dict[str, Any]) -> list[dict[str, Any]]:
    names = perspective_names(ctx.settings.mpgi_perspectives)
    requests = [perspective_request(ctx, rec, facts, n) for n in names]
    outcomes = await asyncio.gather(*(ctx.ask("mpgi", r, parse_paragraph) for r in requests))
    vision, text_model = ctx.settings.vision_model, ctx.settings.text_model
    rows = []
    for k, (name, outcome) in enumerate(zip(names, outcomes, strict=True)):
        rows += caption_rows(
            rec,
            "mpgi_perspective",
            [outcome.value],
            [outcome],
            prompt_id=outcome.request.prompt_id,
            model=vision,
            index0=k,
            facts={"perspective": name},
        )
    integrate_id = load_prompt(*INTEGRATE).id
    broken = [(n, o) for n, o in zip(names, outcomes, strict=True) if not o.usable]
    if broken:  # the finals need every perspective; the failure row names the first that failed
        name, first = broken[0]  # its usage is already on its own perspective row
        stop = replace(first, completion=None, error=f"perspective {name}: {first.error}")
        return rows + caption_rows(rec, "mpgi", [], [stop], prompt_id=integrate_id, model=text_model)
    request = integrate_request(ctx, {n: o.value for n, o in zip(names, outcomes, strict=True)})
    final = await ctx.ask("mpgi", request, parse_integrate(ctx.settings.mpgi_captions))
    texts = list(final.value.captions) if final.usable else []
    return rows + caption_rows(
        rec, "mpgi", texts, [final], prompt_id=integrate_id, model=text_model, facts={"perspectives": names}
    )
