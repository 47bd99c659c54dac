"""A stage's funnel: what came in, what was dropped for which reason, what was kept. Every stage states
its own unit (items, records, image x strategy jobs, candidate captions, canonical images) so the UI shows
where records leave the pipeline, and `in == kept + sum(dropped)` holds by construction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Funnel:
    unit: str  # what one count is: "items", "records", "image_strategies", ...
    kept: int
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count, sorted by reason

    @property
    def total(self) -> int:
        return self.kept + sum(self.dropped.values())

    def metadata(self) -> dict[str, int]:
        """Flat numbers for the materialisation (plottable across partitions in the UI)."""
        return {
            "funnel/in": self.total,
            "funnel/kept": self.kept,
            "funnel/dropped": sum(self.dropped.values()),
            **{f"funnel/dropped/{reason}": n for reason, n in self.dropped.items()},
        }

    def markdown(self) -> str:
        """in -> dropped per reason -> kept as a Markdown table, with shares."""
        total = self.total or 1
        rows = [f"| in | {self.unit} | {self.total} | 100% |"]
        rows += [f"| dropped | `{r}` | {n} | {100 * n / total:.1f}% |" for r, n in self.dropped.items()]
        rows.append(f"| kept | {self.unit} | {self.kept} | {100 * self.kept / total:.1f}% |")
        return "| step | reason | count | share |\n|---|---|---|---|\n" + "\n".join(rows)


def funnel(unit: str, outcomes: Iterable[str | None], kept: str | None = None) -> Funnel:
    """The funnel of one outcome per unit: `kept` (None by default, e.g. a NULL drop_reason) is kept,
    anything else is a drop reason."""
    tally = Counter(outcomes)
    kept_n = tally.pop(kept, 0)
    return Funnel(unit, kept_n, {str(r): n for r, n in sorted(tally.items(), key=lambda kv: str(kv[0]))})


def job_funnel(
    unit: str, rows: Iterable[dict[str, Any]], key: tuple[str, ...], expected: Iterable[tuple[Any, ...]] = ()
) -> Funnel:
    """The funnel of jobs that write several rows each (an image x strategy, an image x task): a job is
    kept when any of its rows is `ok`, else dropped under its rows' first `skip_reason` or status; an
    expected job that wrote no row at all is dropped as `missing`."""
    outcome: dict[tuple[Any, ...], str | None] = {tuple(k): "missing" for k in expected}
    for row in rows:
        job = tuple(row[k] for k in key)
        if row["status"] == "ok":
            outcome[job] = None
        elif outcome.get(job, "missing") == "missing":
            outcome[job] = row.get("skip_reason") or row["status"]
    return funnel(unit, outcome.values())
