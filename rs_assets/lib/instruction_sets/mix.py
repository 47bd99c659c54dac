"""The instruction mix of a source: which tasks, for what share of its images, and how many
conversations an image may hold.

`instructions:` is a list of tasks (every image gets each) or a mapping task -> share in (0, 1]. An
image takes a task when a hash of (image, task) falls below the share, so the draw is deterministic,
independent of the other images, and stable as a partition grows. `max_conversations_per_image`
then keeps the image's ok conversations in a per-image hash order of their tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rs_assets.lib.instruction_sets.tasks import RENAMED, TASKS
from rs_assets.lib.records import stable_hash


def instruction_mix(value: Any) -> dict[str, float]:
    """The `instructions:` value as {task: share}; a ValueError names the offending entry."""
    if isinstance(value, list):
        items = [(name, 1.0) for name in value]
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        raise ValueError("expected a list of tasks or a mapping task -> share in (0, 1]")
    out: dict[str, float] = {}
    for name, share in items:
        if name in RENAMED:
            raise ValueError(f"task {name!r} was renamed to {RENAMED[name]!r}")
        if name not in TASKS:
            raise ValueError(f"unknown task {name!r}; one of {', '.join(TASKS)}")
        if name in out:
            raise ValueError(f"task {name!r} is listed twice")
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:  # NaN too
            raise ValueError(f"task {name!r}: share must be a number in (0, 1], got {share!r}")
        out[name] = float(share)
    return out


def drawn(image_id: str, task: str, share: float) -> bool:
    """Whether the image takes the task at this share (deterministic, uniform over images)."""
    return share >= 1 or int(stable_hash("mix", image_id, task), 16) / 16**16 < share


def capped(image_id: str, tasks: Iterable[str], cap: int | None) -> set[str]:
    """The tasks beyond the image's cap, in a per-image hash order (so every task gets its turn)."""
    ordered = sorted(tasks, key=lambda t: stable_hash("cap", image_id, t))
    return set() if cap is None else set(ordered[cap:])
