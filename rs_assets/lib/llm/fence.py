"""Untrusted text in prompts (article bodies, titles, alt text, credits, source captions and labels,
earlier model answers) travels fenced as data, between markers it cannot forge:

    ⟪untrusted title 3f9a01c2⟫
    ...the text...
    ⟪/untrusted title 3f9a01c2⟫

The brackets ⟪ ⟫ are removed from the text itself, so no marker can be opened or closed from inside,
and the id is a hash of the fenced text, so text that imitates the closing line with other brackets
cannot know the id it would have to repeat. The id is deterministic: request fingerprints (and so the
response store) stay stable across runs. Every prompt's system part tells the model what the fences mean.
"""

from __future__ import annotations

from rs_assets.lib.records import stable_hash

OPEN, CLOSE = "\u27ea", "\u27eb"  # MATHEMATICAL LEFT/RIGHT DOUBLE ANGLE BRACKET


def neutralise(text: str) -> str:
    """`text` without the fence brackets."""
    return text.replace(OPEN, "").replace(CLOSE, "")


def fence(name: str, text: str) -> str:
    """`text` as a fenced data block labelled `name`."""
    body = neutralise(text)
    tag = stable_hash("fence", name, body, length=8)
    return f"{OPEN}untrusted {name} {tag}{CLOSE}\n{body}\n{OPEN}/untrusted {name} {tag}{CLOSE}"
