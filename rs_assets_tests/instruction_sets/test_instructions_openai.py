"""The model path of the instruction tasks (`instruction_backend: llm`) on the OpenAI backend against the
real OpenAI-compatible HTTP server on loopback: conversations valid and true to the record, a rerun
sends nothing, contradicting or garbage answers are failed rows with their reason."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from typing import Any

import pytest
from PIL import Image

from rs_assets.lib.instruction_sets.llm import instruction_partition
from rs_assets.lib.instruction_sets.tasks import MODEL_TASKS, TASKS
from rs_assets.lib.instruction_sets.validate import conversation_problems
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.records import image_id
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.instruction_sets.test_instruction_tasks import VOCAB, record
from rs_assets_tests.openai_stub_server import Fault, StubServer

MIX = ["vqa_count", *MODEL_TASKS]


def settings(**changes: Any) -> LLMSettings:
    fast = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0, "max_retries": 1, **changes}
    return replace(LLMSettings.from_env(), **fast)


def harbour(lake: Lake, n: int) -> list[dict[str, Any]]:
    """`n` harbour records (two ships, a tank, land cover, metadata) with their image in the lake."""
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (500, 250), (40 * i % 255, 90, 140)).save(buf, "JPEG")
        iid = image_id(buf.getvalue())
        lake.put_image(iid, "jpg", buf.getvalue())
        out.append({**record(f"r{i}"), "image_id": iid, "image_ext": "jpg"})
    return out


def run(records: list[dict[str, Any]], lake: Lake, s: LLMSettings, mix: list[str] = MIX) -> Any:
    return instruction_partition(records, [], mix, VOCAB, None, backend="llm", lake=lake, settings=s)


def by_task(rows: list[dict[str, Any]], task: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["task"] == task]


def test_conversations_valid_true_to_the_record_and_a_rerun_sends_nothing(
    stub: StubServer, lake: Lake
) -> None:
    records = harbour(lake, 2)
    first = run(records, lake, settings())
    model_rows = [r for r in first.rows if r["task"] in MODEL_TASKS]
    assert len(stub.calls()) == first.stats["calls"] == len(model_rows) == 2 * len(MODEL_TASKS)
    for row in model_rows:
        assert row["status"] == "ok", row
        assert (row["model"], row["prompt_id"]) == ("gpt-4o", "instruction_llm.v1") and row["request_hash"]
        turns = json.loads(row["conversations"])
        regions = json.loads(row["regions"])
        assert conversation_problems(turns, regions["spans"], 500, 250) == []
    # the template rows are untouched; the dialogue's boxes are the record's own, put back at the marker
    (count,) = by_task(first.rows, "vqa_count")[:1]
    assert count["model"] is None and count["cost_usd"] == 0.0
    dialogue = json.loads(by_task(first.rows, "multi_turn")[0]["regions"])
    assert [(b["x1"], b["x2"]) for s in dialogue["spans"] for b in s["boxes"]] == [(50, 100), (250, 300)]
    body = json.loads(stub.calls()[0].body)
    assert body["response_format"]["json_schema"]["name"] == "instruction_conversation"
    assert body["messages"][1]["content"][1]["type"] == "image_url"  # the image travels with the facts
    assert "Objects (3x3 grid positions)" in body["messages"][1]["content"][0]["text"]
    again = run(records, lake, settings())
    assert len(stub.calls()) == len(model_rows) and again.stats["cache_hits"] == len(model_rows)
    assert [r["conversations"] for r in again.rows] == [r["conversations"] for r in first.rows]


def _answer(turns: list[dict[str, str]], **claims: Any) -> str:
    return json.dumps({"turns": turns, "counts": [], "absent": [], **claims})


def _reference(lake: Lake, records: list[dict[str, Any]], task: str) -> list[dict[str, str]]:
    """The task's template turns (as the stub echoes them)."""
    local = instruction_partition(records, [], [task], VOCAB, None)
    turns = json.loads(local.rows[0]["conversations"])
    values = [t["value"].removeprefix("<image>\n") for t in turns]
    return [{"question": q, "answer": a} for q, a in zip(values[::2], values[1::2], strict=True)]


@pytest.mark.parametrize(
    ("task", "edit", "reason", "detail"),
    [
        (
            "reasoning",
            lambda t: _answer(t, counts=[{"cls": "ships", "count": 3}]),
            "llm_wrong_count",
            "3 ships",
        ),
        (
            "detailed_description",
            lambda t: _answer([{**t[0], "answer": t[0]["answer"] + " Five ships are moored."}]),
            "llm_wrong_count",
            "five ships (annotated: 2)",
        ),
        ("reasoning", lambda t: _answer(t, absent=["storage tanks"]), "llm_wrong_absence", "storage tanks"),
        (
            "reasoning",
            lambda t: _answer(t, counts=[{"cls": "aircraft", "count": 1}]),
            "llm_wrong_absence",
            "lacks",
        ),
        (
            "detailed_description",
            lambda t: _answer([{**t[0], "answer": "Ships at [100, 100, 200, 200]. " + t[0]["answer"]}]),
            "llm_boxes",
            "[100, 100, 200, 200]",
        ),
        ("reasoning", lambda t: _answer(t[:-1] or t + t), "llm_unusable", "expected"),
    ],
)
def test_an_answer_contradicting_the_record_is_a_failed_row_and_is_asked_again(
    stub: StubServer, lake: Lake, task: str, edit: Any, reason: str, detail: str
) -> None:
    records = harbour(lake, 1)
    stub.add_faults(Fault(content=edit(_reference(lake, records, task))))
    bad = run(records, lake, settings(), [task])
    (row,) = bad.rows
    assert (row["status"], row["skip_reason"]) == ("failed", reason) and row["conversations"] is None
    assert detail in row["error"]
    healed = run(records, lake, settings(), [task])  # nothing was stored: the next run asks again
    assert healed.rows[0]["status"] == "ok" and len(stub.calls()) == 2


def test_dialogue_markers_must_stay_where_the_boxes_go(stub: StubServer, lake: Lake) -> None:
    records = harbour(lake, 1)
    turns = _reference(lake, records, "multi_turn")
    where = next(i for i, t in enumerate(turns) if "[" in t["answer"])
    turns[where]["answer"] = "They are at the top left and in the middle."  # the marker dropped
    stub.add_faults(Fault(content=_answer(turns)))
    (row,) = run(records, lake, settings(), ["multi_turn"]).rows
    assert (row["status"], row["skip_reason"]) == ("failed", "llm_boxes") and "0 <boxes> markers" in row[
        "error"
    ]


@pytest.mark.parametrize(
    "fault",
    [
        Fault(body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        Fault(content="<html>not json</html>"),
        Fault(malformed=True),
        Fault(refusal="I can't help with that."),
        Fault(finish_reason="length"),
    ],
)
def test_garbage_or_refused_answers_are_failed_rows_not_crashes(
    stub: StubServer, lake: Lake, fault: Fault
) -> None:
    records = harbour(lake, 1)
    stub.add_faults(fault)
    (row,) = run(records, lake, settings(), ["detailed_description"]).rows
    assert (row["status"], row["skip_reason"]) == ("failed", "llm_unusable") and row["error"]


def test_dry_run_budget_and_batch(stub: StubServer, lake: Lake) -> None:
    records = harbour(lake, 2)
    dry = run(records, lake, settings(dry_run=True))
    assert (
        not stub.calls() and dry.stats["est_calls"] == 2 * len(MODEL_TASKS) and dry.stats["est_cost_usd"] > 0
    )
    assert {r["skip_reason"] for r in dry.rows if r["task"] in MODEL_TASKS} == {"dry_run"}
    broke = run(records, lake, settings(budget_usd=0.0))
    assert not stub.calls() and {r["skip_reason"] for r in broke.rows if r["task"] in MODEL_TASKS} == {
        "budget_exhausted"
    }
    batched = run(records, lake, settings(batch=frozenset({"instructions"}), batch_poll_s=0.01))
    assert not stub.calls() and len(stub.calls("/v1/batches")) == 1
    assert {r["status"] for r in batched.rows} == {"ok"} and batched.stats["batch_deferred"] == 6
    assert run(records, lake, settings()).stats["cache_hits"] == 2 * len(MODEL_TASKS)


def test_the_local_llm_backend_runs_the_same_path_at_zero_cost(lake: Lake) -> None:
    records = harbour(lake, 2)
    result = run(records, lake, LLMSettings(), list(TASKS))
    model_rows = [r for r in result.rows if r["task"] in MODEL_TASKS]
    assert {(r["status"], r["model"]) for r in model_rows} == {("ok", "local-template-v1")}
    assert result.stats["calls"] == len(model_rows) and result.stats["cost_usd"] == 0.0
    local = instruction_partition(records, [], list(TASKS), VOCAB, None)
    assert [r["conversations"] for r in result.rows] == [r["conversations"] for r in local.rows]


def test_instruction_backend_in_the_sources_file() -> None:
    def source(**extra: Any) -> Any:
        return parse_sources(
            {"sources": {"s": {"kind": "synthetic", "years": [2020], "per_year": 2, **extra}}}
        )

    assert source()["s"].instruction_backend == "local"
    assert source(instruction_backend="llm")["s"].instruction_backend == "llm"
    with pytest.raises(SourcesConfigError, match="instruction_backend"):
        source(instruction_backend="openai")


def test_malformed_objects_do_not_break_the_checks(lake: Lake) -> None:
    records = [{**r, "objects": [*r["objects"], {"x1": 1}, {"cls": "ship"}]} for r in harbour(lake, 1)]
    result = run(records, lake, LLMSettings(), ["detailed_description"])
    assert result.rows[0]["status"] == "ok" and "2 ships" in result.rows[0]["conversations"]
