"""Versioned prompt files (`rs_assets/prompts/<name>.<version>.md`): front matter with call parameters,
then `# system` and `# user` sections with `{placeholders}`.

The prompt id (`gaia_vision.v2`) goes on every row; editing a prompt means a new version file, so old
rows stay explainable and new ones get new fingerprints. Placeholder values are untrusted data and are
fenced (`rs_assets.lib.llm.fence`) unless the front matter lists the placeholder under `trusted` (values
our code or the prompt file supplies: the caption prefix, counts, perspective instructions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rs_assets.lib.llm.fence import fence

_SECTION = re.compile(r"^# (system|user)\s*$", re.MULTILINE)


@dataclass(frozen=True)
class Prompt:
    name: str
    version: str
    params: dict[str, Any]
    system: str
    user: str
    trusted: frozenset[str] = frozenset()  # placeholders filled verbatim; every other value is fenced

    @property
    def id(self) -> str:
        return f"{self.name}.{self.version}"

    def render(self, **values: Any) -> str:
        """The user message with `values` filled in, untrusted ones fenced as data (the system part is
        static, for prompt caching)."""
        return self.user.format(
            **{k: v if k in self.trusted else fence(k, str(v)) for k, v in values.items()}
        )


def read_prompt_file(filename: str) -> str:
    return (resources.files("rs_assets") / "prompts" / filename).read_text(encoding="utf-8")


@cache
def load_prompt(name: str, version: str = "v1") -> Prompt:
    text = read_prompt_file(f"{name}.{version}.md")
    _, front, body = text.split("---\n", 2)
    parts = _SECTION.split(body)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    params = yaml.safe_load(front) or {}
    trusted = frozenset(params.get("trusted") or ())
    return Prompt(name, version, params, sections["system"], sections["user"], trusted)


@cache
def load_templates(name: str, version: str = "v1") -> dict[str, Any]:
    """YAML template families (meta captions) in the same versioned folder."""
    return yaml.safe_load(read_prompt_file(f"{name}.{version}.yaml"))
