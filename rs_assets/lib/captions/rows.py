"""Caption rows: ids, their columns (captions contract), and how call usage is attributed to rows.

Every call's tokens and dollars land on exactly one set of rows (split evenly over the captions it
produced, remainder on the first), so per-row sums equal the run's totals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rs_assets.lib.llm.request import Outcome
from rs_assets.lib.records import stable_hash


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    cached_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Usage:
        done = [o.completion for o in outcomes if o.completion is not None]
        return cls(
            sum(c.prompt_tokens for c in done),
            sum(c.cached_tokens for c in done),
            sum(c.completion_tokens for c in done),
            sum(c.cost_usd for c in done),
        )

    def split(self, n: int) -> list[Usage]:
        def share(total: int, i: int) -> int:
            return total // n + (total % n if i == 0 else 0)

        return [
            Usage(
                share(self.prompt_tokens, i),
                share(self.cached_tokens, i),
                share(self.completion_tokens, i),
                self.cost_usd / n,
            )
            for i in range(n)
        ]


def caption_id(rec: dict[str, Any], strategy: str, prompt_id: str, model: str, index: int) -> str:
    return stable_hash("caption", rec["record_id"], rec["image_id"], strategy, prompt_id, model, index)


def row_status(outcomes: list[Outcome]) -> tuple[str, str | None]:
    """The first unusable outcome decides (status, error); otherwise `ok`, or `dry_run` if estimated."""
    for o in outcomes:
        if not o.usable:
            return o.status, o.error
    return ("dry_run" if any(o.status == "dry_run" for o in outcomes) else "ok"), None


def caption_rows(
    rec: dict[str, Any],
    strategy: str,
    texts: list[str | None],
    outcomes: list[Outcome],
    *,
    prompt_id: str,
    model: str,
    index0: int = 0,
    facts: dict[str, Any] | None = None,
    request_hash: str | None = None,
    empty: tuple[str, str] = ("invalid", "the answer holds no caption text"),
) -> list[dict[str, Any]]:
    """Rows for the captions `outcomes` produced; when a call failed (or texts is empty) one failure row.

    An `ok` row always has text: usable outcomes without (non-blank) texts become one `empty` (status,
    error) row. `request_hash` is the last call's fingerprint unless given (calls-free strategies).
    Dry-run rows carry estimates and no text: stand-in answers are never presented as captions.
    """
    status, error = row_status(outcomes)
    if status == "ok" and (not texts or any(not (t or "").strip() for t in texts)):
        status, error = empty
    if status != "ok":
        texts = [None]
    last = outcomes[-1] if outcomes else None
    request_hash = request_hash or (last.request.fingerprint if last else None)
    if request_hash is None:
        raise ValueError(f"{strategy} caption rows without a request: pass request_hash")
    detail = next((o.request.image.detail for o in outcomes if o.request.image), None)
    finish = last.completion.finish_reason if last and last.completion else None
    rows = []
    for i, (text, usage) in enumerate(zip(texts, Usage.of(outcomes).split(len(texts)), strict=True)):
        rows.append(
            {
                "caption_id": caption_id(rec, strategy, prompt_id, model, index0 + i),
                "image_id": rec["image_id"],
                "record_id": rec["record_id"],
                "source": rec.get("source"),
                "year": rec.get("year"),
                "strategy": strategy,
                "text": text,
                "model": model,
                "prompt_id": prompt_id,
                "request_hash": request_hash,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "cost_usd": usage.cost_usd,
                "status": status,
                "cached_tokens": usage.cached_tokens,
                "finish_reason": finish,
                "error": error,
                "caption_index": index0 + i,
                "prompt_version": prompt_id.rsplit(".", 1)[-1],
                "detail": detail,
                "facts": json.dumps(facts, sort_keys=True, default=str) if facts is not None else None,
            }
        )
    return rows
