"""What makes a conversation valid for training (the issue's blocking rules), as a pure function: a
conversation with problems becomes a `failed` row naming them, never an exported sample."""

from __future__ import annotations

from typing import Any

IMAGE_TOKEN = "<image>"


def qa_pairs(turns: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(question, answer) pairs, the image token left out (the same pair may open one conversation and
    continue another)."""
    values = [t["value"].removeprefix(IMAGE_TOKEN + "\n") for t in turns]
    return list(zip(values[::2], values[1::2], strict=False))


def conversation_problems(
    turns: list[dict[str, str]], spans: list[dict[str, Any]], width: int, height: int
) -> list[str]:
    """Human/gpt alternation, no empty turn, `<image>` exactly once at the start of the first human
    turn, every box inside the image, no repeated (question, answer) pair."""
    problems = []
    if not turns or len(turns) % 2:
        problems.append("turns are not (human, gpt) pairs")
    for i, turn in enumerate(turns):
        expected = "human" if i % 2 == 0 else "gpt"
        if turn["from"] != expected:
            problems.append(f"turn {i} is from {turn['from']!r}, expected {expected!r}")
        if not turn["value"].replace(IMAGE_TOKEN, "").strip():
            problems.append(f"turn {i} is empty")
    tokens = sum(t["value"].count(IMAGE_TOKEN) for t in turns)
    if tokens != 1 or not turns or not turns[0]["value"].startswith(IMAGE_TOKEN + "\n"):
        problems.append(
            f"{IMAGE_TOKEN} must appear once, at the start of the first human turn ({tokens} found)"
        )
    for span in spans:
        for b in span["boxes"]:
            if not (0 <= b["x1"] < b["x2"] <= width and 0 <= b["y1"] < b["y2"] <= height):
                problems.append(
                    f"turn {span['turn']}: box {[b['x1'], b['y1'], b['x2'], b['y2']]} outside the image"
                )
    pairs = qa_pairs(turns)
    if len(set(pairs)) < len(pairs):
        problems.append("a (question, answer) pair is repeated")
    return problems
