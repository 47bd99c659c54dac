"""Captions on the OpenAI backend against a real OpenAI-compatible HTTP server on loopback (the stub)."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.captions.engine import caption_partition
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.batch import chunk_lines
from rs_assets.lib.llm.redact import MASK, key_redactor
from rs_assets.lib.llm.settings import LLMSettings, Price
from rs_assets.lib.retry_after import retry_after_headers, retry_after_s
from rs_assets_tests.captions.test_captions_local import (
    FENCE,
    HOSTILE_TEXT,
    INJECTION,
    caption_records,
    fenced_blocks,
    injection_record,
)
from rs_assets_tests.openai_stub_server import ECHOES, STUB_KEY, Fault, StubServer, key_leaks

KEY = STUB_KEY  # what the `stub` fixture configures
STRATEGIES = ["meta", "gaia", "mpgi"]


def settings(**changes: Any) -> LLMSettings:
    fast = {"backoff_base_s": 0.01, "backoff_max_s": 0.05, "timeout_s": 5.0, "max_retries": 3, **changes}
    return replace(LLMSettings.from_env(), **fast)


def pairs(table: Any) -> set[tuple[str, str]]:
    return set(zip(table["image_id"].to_pylist(), table["strategy"].to_pylist(), strict=True))


def test_round_trip_exactly_once_and_no_key_leak(
    stub: StubServer, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    records = caption_records(lake, 3, text_chars=1200)
    result = caption_partition(records, STRATEGIES, lake, settings(), log=logging.getLogger("captions"))
    rows = result.table.to_pylist()
    assert {r["status"] for r in rows} == {"ok"}
    assert pairs(result.table) == {
        (r["image_id"], s) for r in records for s in ["meta", "gaia", "mpgi", "mpgi_perspective"]
    }
    assert len(stub.calls()) == result.stats["calls"] == 3 * 7
    model_rows = [r for r in rows if r["strategy"] != "meta"]
    assert {r["model"] for r in model_rows} == {"gpt-4o", "gpt-4o-mini"}
    assert sum(r["prompt_tokens"] for r in rows) == result.stats["prompt_tokens"] > 0
    assert sum(r["completion_tokens"] for r in rows) == result.stats["completion_tokens"] > 0
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(result.stats["cost_usd"])
    assert result.stats["cost_usd"] > 0
    assert {r["detail"] for r in model_rows if r["strategy"] != "mpgi"} == {"low"}
    sent = json.loads(stub.calls()[-1].body)
    assert sent["model"] and sent["max_tokens"] > 0

    again = caption_partition(records, STRATEGIES, lake, settings())
    assert len(stub.calls()) == 21 and again.stats["calls"] == 0
    assert again.table.equals(result.table)

    for req in stub.state.requests:  # the key travels in the Authorization header only
        assert KEY not in req.body.decode()
        assert [k.lower() for k, v in req.headers.items() if KEY in v] == ["authorization"]
    assert KEY not in caplog.text
    assert KEY not in json.dumps(result.stats) and KEY not in json.dumps(rows, default=str)
    assert all(KEY not in p.read_text() for p in Path(lake.root).rglob("*.json"))


def test_redactor_masks_every_echo_form_and_nothing_else() -> None:
    redact = key_redactor(KEY)
    for name, echo in ECHOES.items():
        said = f"Incorrect API key provided: {echo(KEY)}. You can find your API key at https://x/keys."
        masked = redact(said)
        assert key_leaks(masked, KEY) == [] and MASK in masked, (name, masked)
        assert masked.startswith("Incorrect API key provided: ") and masked.endswith(" at https://x/keys.")
    answer = json.dumps({"captions": [f"The image showcases: fields {KEY.upper()} near Paris."]})
    assert json.loads(redact(answer))["captions"][0].endswith("fields sk-*** near Paris.")  # still JSON
    ordinary = "Sentinel-2 MSI, 10 m (Moderate); sk- and cdef alone; test-SE; 0123456 ... cdef"
    assert redact(ordinary) == ordinary
    hostile = "a" * 20_000 + "." * 10_000 + "*" * 10_000  # no quadratic backtracking on untrusted answers
    assert redact(hostile + KEY[-4:]) == "a" * (20_000 - 64) + MASK
    for placeholder in (None, "", "EMPTY"):  # local servers' dummy keys are not secrets
        assert key_redactor(placeholder)("EMPTY answers stay EMPTY") == "EMPTY answers stay EMPTY"


def test_key_echoes_never_reach_rows_cache_or_logs(
    stub: StubServer, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    kinds = [Fault(status=401), Fault(refusal="I can't help with that."), Fault()]
    faults = [replace(kind, echo=echo) for kind in kinds for echo in ECHOES.values()]
    stub.add_faults(*faults)
    records = caption_records(lake, len(faults))  # short texts: one vision request per image
    result = caption_partition(
        records, ["gaia"], lake, settings(concurrency=1), log=logging.getLogger("captions")
    )
    statuses = result.table["status"].to_pylist()
    n = len(ECHOES)
    assert (statuses.count("failed"), statuses.count("refused"), statuses.count("ok")) == (n, n, 5 * n)
    assert all(MASK in e for e in result.table["error"].to_pylist() if e)
    assert len(stub.calls()) == len(faults)
    assert key_leaks(json.dumps(result.table.to_pylist(), default=str), KEY) == []
    assert key_leaks(json.dumps(result.stats), KEY) == []
    stored = [p for p in Path(lake.root).rglob("*.json")]
    assert stored and all(key_leaks(p.read_text(), KEY) == [] for p in stored)
    assert key_leaks(caplog.text, KEY) == []


def test_untrusted_text_travels_fenced_and_cannot_close_its_fence(stub: StubServer, lake: Lake) -> None:
    rec = injection_record(lake)
    result = caption_partition([rec], ["gaia", "mpgi"], lake, settings())
    assert set(result.table["status"].to_pylist()) == {"ok"}
    sent = [json.loads(c.body)["messages"] for c in stub.calls()]
    assert len(sent) == 2 + 5  # summary, vision; four perspectives, integrate
    by_task = {}
    for system, user in sent:
        text = user["content"][0]["text"]
        assert "\u27ea/untrusted" in system["content"] and "never" in system["content"].lower()
        assert "\u27ea" not in FENCE.sub("", text) and INJECTION not in FENCE.sub("", text)
        blocks = fenced_blocks(text)
        assert all("\u27ea" not in body and "\u27eb" not in body for _, body in blocks)
        by_task.setdefault(frozenset(name for name, _ in blocks), []).append(dict(blocks))
    summary = by_task[frozenset({"title", "text"})]
    assert [b["text"] for b in summary] == [HOSTILE_TEXT.replace("\u27ea", "").replace("\u27eb", "")]
    vision = by_task[frozenset({"title", "alt_text", "summary", "credits", "facts"})]
    assert INJECTION in vision[0]["alt_text"] and INJECTION in vision[0]["credits"]
    assert len(by_task[frozenset({"facts"})]) == 4 and len(by_task[frozenset({"perspectives"})]) == 1


def test_faults_end_as_rows_and_are_retried_next_run(
    stub: StubServer, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    records = caption_records(lake, 1)  # short text: gaia = 1 vision call
    stub.add_faults(Fault(status=429, retry_after=0.05), Fault(status=503), Fault(sleep=1.0))
    ok = caption_partition(records, ["gaia"], lake, settings(timeout_s=0.5))
    assert set(ok.table["status"].to_pylist()) == {"ok"}
    assert ok.stats["retries"] == 3 and ok.stats["calls"] == 1

    for fault, status in [
        (Fault(refusal="I can't help with that."), "refused"),
        (Fault(malformed=True), "invalid"),
        (Fault(finish_reason="length"), "truncated"),
        (Fault(finish_reason="content_filter"), "filtered"),
    ]:
        other = caption_records(Lake(str(Path(lake.root) / status)), 1)
        stub.add_faults(fault)
        bad = caption_partition(other, ["gaia"], Lake(str(Path(lake.root) / status)), settings())
        assert bad.table.num_rows == 1 and bad.table["status"][0].as_py() == status
        assert bad.table["text"][0].as_py() is None and bad.table["error"][0].as_py()

    stub.add_faults(*[Fault(status=500)] * 4)  # more than max_retries: a recorded failure row
    failed_lake = Lake(str(Path(lake.root) / "failed"))
    recs = caption_records(failed_lake, 1)
    failed = caption_partition(recs, ["gaia"], failed_lake, settings())
    assert failed.table["status"].to_pylist() == ["failed"] and "HTTP 500" in failed.table["error"][0].as_py()
    before = len(stub.calls())
    healed = caption_partition(recs, ["gaia"], failed_lake, settings())
    assert set(healed.table["status"].to_pylist()) == {"ok"} and len(stub.calls()) == before + 1
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("body", "content_type", "why"),
    [
        (f"<html><body>Gateway login. Your key: {KEY}</body></html>".encode(), "text/html", "text/html"),
        (f'{{"choices": [{{"message": "{KEY}'.encode(), "application/json", "not JSON"),
        (b"[]", "application/json", "list"),
    ],
)
def test_a_200_that_is_no_completion_fails_the_row(
    stub: StubServer, lake: Lake, caplog: pytest.LogCaptureFixture, body: bytes, content_type: str, why: str
) -> None:
    """A proxy or a misconfigured OPENAI_BASE_URL answering HTML with 200 crashed the stage on
    `model_dump` (the SDK hands back the text); it is a `failed` row, redacted, retried next run."""
    records = caption_records(lake, 1)
    stub.add_faults(Fault(body=body, content_type=content_type))
    bad = caption_partition(records, ["gaia"], lake, settings())
    assert bad.table["status"].to_pylist() == ["failed"] and bad.stats["calls"] == 0
    error = bad.table["error"][0].as_py()
    assert error.startswith("unreadable response") and why in error
    assert KEY not in error and KEY not in caplog.text
    healed = caption_partition(records, ["gaia"], lake, settings())
    assert set(healed.table["status"].to_pylist()) == {"ok"} and len(stub.calls()) == 2


def test_a_truncated_cache_file_is_a_miss_and_is_rewritten(
    stub: StubServer, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    records = caption_records(lake, 1)
    first = caption_partition(records, ["gaia"], lake, settings())
    (cached,) = Path(lake.root, "llm_cache").rglob("*.json")
    whole = cached.read_bytes()
    cached.write_bytes(whole[: len(whole) // 2])
    again = caption_partition(records, ["gaia"], lake, settings())
    assert set(again.table["status"].to_pylist()) == {"ok"} and len(stub.calls()) == 2
    assert f"unreadable LLM cache file {cached}" in caplog.text
    assert json.loads(cached.read_bytes())["completion"] == json.loads(whole)["completion"]
    assert again.table["text"].equals(first.table["text"])
    third = caption_partition(records, ["gaia"], lake, settings())
    assert third.stats["cache_hits"] == 1 and len(stub.calls()) == 2


def test_mpgi_perspective_failure_blocks_only_its_finals(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 1)
    stub.add_faults(Fault(refusal="no"))
    rows = caption_partition(records, ["mpgi"], lake, settings(concurrency=1)).table.to_pylist()
    perspectives = [r for r in rows if r["strategy"] == "mpgi_perspective"]
    assert sorted(r["status"] for r in perspectives) == ["ok", "ok", "ok", "refused"]
    finals = [r for r in rows if r["strategy"] == "mpgi"]
    assert len(finals) == 1 and finals[0]["status"] == "refused" and "perspective" in finals[0]["error"]


def test_budget_stops_cleanly_and_resumes(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 4)
    capped = caption_partition(records, ["meta", "gaia"], lake, settings(budget_usd=0.03, concurrency=2))
    statuses = capped.table["status"].to_pylist()
    assert "budget_exhausted" in statuses and "ok" in statuses
    assert capped.stats["budget_exhausted"] is True and capped.stats["cost_usd"] <= 0.03
    assert pairs(capped.table) == {(r["image_id"], s) for r in records for s in ("meta", "gaia")}
    sent = len(stub.calls())
    assert sent == capped.stats["calls"] < 4
    done = caption_partition(records, ["meta", "gaia"], lake, settings())
    assert set(done.table["status"].to_pylist()) == {"ok"}
    assert len(stub.calls()) == 4  # only what the budget held back


def test_dry_run_sends_nothing(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 2, text_chars=1200)
    result = caption_partition(records, STRATEGIES, lake, settings(dry_run=True))
    assert stub.state.requests == [] and result.stats["est_calls"] == 2 * 7
    assert result.stats["est_cost_usd"] > 0 and result.stats["cost_usd"] == 0


def test_batch_mode_round_trip_and_resume(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 2, text_chars=1200)
    stub.state.batch_polls = 1
    batched = settings(batch=frozenset({"gaia", "mpgi"}), batch_poll_s=0.01)
    result = caption_partition(records, STRATEGIES, lake, batched)
    assert set(result.table["status"].to_pylist()) == {"ok"}
    assert stub.calls() == []  # no synchronous chat calls at all
    assert len(stub.calls("/v1/batches")) == 2  # (summaries + perspectives), then (vision + integrate)
    assert result.stats["batch_deferred"] == 2 * 7
    assert sum(r["cost_usd"] for r in result.table.to_pylist()) == pytest.approx(result.stats["cost_usd"])
    assert caption_partition(records, STRATEGIES, lake, batched).stats["batch_deferred"] == 0

    # A restart after submission resumes the stored batch id instead of paying again.
    other = Lake(str(Path(lake.root) / "resume"))
    recs = caption_records(other, 1)
    stub.state.batch_polls = 10**6  # never finishes within this run
    stalled = caption_partition(recs, ["gaia"], other, replace(batched, batch_max_wait_s=0.05))
    assert set(stalled.table["status"].to_pylist()) == {"pending"}
    assert len(other.list("llm_batches/")) == 1
    created = len(stub.calls("/v1/batches"))
    stub.state.batch_polls = 0
    resumed = caption_partition(recs, ["gaia"], other, batched)
    assert set(resumed.table["status"].to_pylist()) == {"ok"}
    assert len(stub.calls("/v1/batches")) == created  # polled the old batch, created none


def test_batch_files_respect_request_and_byte_limits() -> None:
    lines = [(f"id{i}", b"x" * 40) for i in range(10)]
    assert [len(c) for c in chunk_lines(lines, max_requests=4, max_bytes=10**6)] == [4, 4, 2]
    assert [len(c) for c in chunk_lines(lines, max_requests=100, max_bytes=100)] == [2, 2, 2, 2, 2]
    assert [fp for c in chunk_lines(lines, 3, 10**6) for fp, _ in c] == [fp for fp, _ in lines]


def test_budget_prices_dated_snapshots_and_refuses_unpriced_models(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 2)
    snapshot = settings(vision_model="gpt-4o-2024-08-06", budget_usd=1e-6)  # priced as gpt-4o
    capped = caption_partition(records, ["gaia"], lake, snapshot)
    assert set(capped.table["status"].to_pylist()) == {"budget_exhausted"} and stub.calls() == []

    for model in ("my-vlm", "gpt-4o-2024-08-06"):
        unpriced = settings(vision_model="my-vlm", text_model=model, budget_usd=5.0)
        with pytest.raises(ValueError, match=r"my-vlm.*RS_ASSETS_LLM_PRICES"):
            caption_partition(records, ["meta", "gaia"], lake, unpriced)
    assert stub.state.requests == []  # refused before anything was sent
    prices = {**settings().prices, "my-vlm": Price(1.0, 0.5, 2.0)}
    priced = settings(vision_model="my-vlm", budget_usd=5.0, prices=prices)
    ok = caption_partition(records, ["gaia"], lake, priced)
    assert set(ok.table["status"].to_pylist()) == {"ok"} and ok.stats["cost_usd"] > 0
    # without a budget, or without spending (meta only, dry run), unpriced models are allowed
    caption_partition(records, ["meta"], lake, settings(vision_model="x", budget_usd=5.0))
    caption_partition(records, ["gaia"], lake, settings(vision_model="x", budget_usd=5.0, dry_run=True))


@pytest.mark.parametrize("end", ["failed", "expired", "cancelled"])
def test_batch_that_did_not_complete_fails_its_rows_and_is_resubmitted(
    stub: StubServer, lake: Lake, end: str
) -> None:
    records = caption_records(lake, 2)  # short texts: one vision request per image, one batch
    batched = settings(batch=frozenset({"gaia"}), batch_poll_s=0.01)
    stub.state.batch_end = end
    first = caption_partition(records, ["gaia"], lake, batched)
    statuses = first.table["status"].to_pylist()
    answered = 1 if end == "expired" else 0  # an expired batch keeps what it finished
    assert statuses.count("failed") == 2 - answered and statuses.count("ok") == 5 * answered
    errors = [e for e in first.table["error"].to_pylist() if e]
    assert all(f"ended {end}" in e for e in errors)
    assert end != "failed" or all("stub batch failed" in e for e in errors)
    assert lake.list("llm_batches/") == []  # forgotten: the next run does not resume a dead batch
    assert len(stub.calls("/v1/batches")) == 1

    stub.state.batch_end = "completed"
    healed = caption_partition(records, ["gaia"], lake, batched)
    assert set(healed.table["status"].to_pylist()) == {"ok"}
    assert len(stub.calls("/v1/batches")) == 2  # a new batch, holding only the unanswered request(s)
    assert healed.stats["batch_deferred"] == 2 - answered
    assert len(lake.list("llm_batches/")) == 1  # a completed batch keeps its state (resume, never repay)


def test_bad_retry_after_is_ignored_not_fatal(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 1)
    stub.add_faults(
        Fault(status=429, headers={"Retry-After": "Mon, 99 Foo 2024 25:61:00 GMT"}),
        Fault(status=503, headers={"Retry-After": "soon"}),
        Fault(status=429, headers={"retry-after-ms": "20"}),
    )
    result = caption_partition(records, ["gaia"], lake, settings())
    assert set(result.table["status"].to_pylist()) == {"ok"} and result.stats["retries"] == 3


def test_one_retry_after_parser() -> None:
    now = datetime(2015, 10, 21, 7, 27, tzinfo=UTC)
    assert retry_after_s("120") == 120 and retry_after_s(" 1.5 ") == 1.5
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now) == 60
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 -0000", now) == 60  # naive date: UTC
    assert retry_after_s("Tue, 20 Oct 2015 07:28:00 GMT", now) == 0  # in the past
    for garbage in (None, "", "soon", "-5", "nan", "inf", "Wed, 32 Oct 2015 07:28:00 GMT", "Mon, 99 Foo"):
        assert retry_after_s(garbage, now) is None
    assert retry_after_headers({"Retry-After-Ms": "250", "Retry-After": "9"}) == 0.25
    assert retry_after_headers({"retry-after-ms": "x", "retry-after": "2"}) == 2
    assert retry_after_headers({"retry-after": "Mon, 99 Foo 2024 25:61:00 GMT"}) is None
    assert retry_after_headers({}) is None


def test_batch_the_server_forgot_is_resubmitted(stub: StubServer, lake: Lake) -> None:
    records = caption_records(lake, 1)
    batched = settings(batch=frozenset({"gaia"}), batch_poll_s=0.01)
    stub.state.batch_polls = 10**6
    caption_partition(records, ["gaia"], lake, replace(batched, batch_max_wait_s=0.05))
    assert len(lake.list("llm_batches/")) == 1
    stub.state.batches.clear()  # e.g. another account or base URL: the stored batch id is unknown (404)
    lost = caption_partition(records, ["gaia"], lake, batched)
    assert lost.table["status"].to_pylist() == ["failed"] and lake.list("llm_batches/") == []
    stub.state.batch_polls = 0
    healed = caption_partition(records, ["gaia"], lake, batched)
    assert set(healed.table["status"].to_pylist()) == {"ok"} and len(stub.calls("/v1/batches")) == 2


def test_retry_after_is_honoured_but_capped() -> None:
    from rs_assets.lib.llm.runner import backoff_delay

    assert 2.0 <= backoff_delay(0, 0.01, 60.0, 2.0) <= 2.01
    assert backoff_delay(0, 0.01, 60.0, 86_400.0) <= 60.01  # a day-long hint must not stall a partition
    assert 0 <= backoff_delay(3, 1.0, 5.0, None) <= 5.0
