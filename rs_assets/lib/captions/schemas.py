"""Structured answers: pydantic models that both build the strict `json_schema` response format and
validate what comes back (a wrong caption count or a missing prefix is `invalid`, never a caption)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class GaiaAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[str] = Field(min_length=3, max_length=3)
    location: str
    modality: list[str]
    satellite: list[str]
    sensor: list[str]
    resolution: Literal["Low", "Moderate", "High", "Very High"]
    is_remote_sensing: bool
    is_chart: bool
    captions: list[str] = Field(min_length=5, max_length=5)

    @field_validator("captions")
    @classmethod
    def _prefixed(cls, captions: list[str], info: ValidationInfo) -> list[str]:
        prefix = (info.context or {}).get("prefix", "")
        for caption in captions:
            if not caption.startswith(prefix) or not caption[len(prefix) :].strip():
                raise ValueError(f"caption does not start with the required prefix {prefix!r}")
        return captions


def expected_count(items: list[Any], info: ValidationInfo, what: str) -> None:
    """The answer holds exactly the `count` items the request asked for (validation context)."""
    want = (info.context or {}).get("count")
    if want is not None and len(items) != want:
        raise ValueError(f"expected {want} {what}, got {len(items)}")


class IntegrateAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    captions: list[str]

    @field_validator("captions")
    @classmethod
    def _count(cls, captions: list[str], info: ValidationInfo) -> list[str]:
        expected_count(captions, info, "captions")
        if any(not c.strip() for c in captions):
            raise ValueError("empty caption")
        return captions


def _prefix_pattern(prefix: str) -> str:
    return "^" + re.escape(prefix).replace("\\ ", " ")


def response_format(name: str, model: type[BaseModel], items: dict[str, Any]) -> dict[str, Any]:
    """Strict json_schema format; `items` adds constraints to the `captions` items/array (prefix, count)."""
    schema = model.model_json_schema()
    captions = schema["properties"]["captions"]
    captions.update({k: v for k, v in items.items() if k != "pattern"})
    if "pattern" in items:
        captions["items"]["pattern"] = items["pattern"]
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


def gaia_format(prefix: str) -> dict[str, Any]:
    return response_format("gaia_answer", GaiaAnswer, {"pattern": _prefix_pattern(prefix)})


def integrate_format(count: int) -> dict[str, Any]:
    return response_format("integrated_captions", IntegrateAnswer, {"minItems": count, "maxItems": count})


def parse_gaia(prefix: str) -> Callable[[str], GaiaAnswer]:
    def parse(content: str) -> GaiaAnswer:
        return GaiaAnswer.model_validate_json(content, context={"prefix": prefix})

    return parse


def parse_integrate(count: int) -> Callable[[str], IntegrateAnswer]:
    def parse(content: str) -> IntegrateAnswer:
        return IntegrateAnswer.model_validate_json(content, context={"count": count})

    return parse


def parse_paragraph(content: str) -> str:
    """Free-text answers (summaries, perspectives) must say something."""
    text = content.strip()
    if not text:
        raise ValueError("empty answer")
    return text
