"""caption_scores on captions built to be wrong: every signal, the selection, the judge (offline and on the
OpenAI-compatible stub server), and the skipped rows of signals that cannot run."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.caption_scores.language import _detector
from rs_assets.lib.caption_scores.score import score_partition
from rs_assets.lib.caption_scores.vocab import DECISIONS, SIGNALS
from rs_assets.lib.lake import Lake
from rs_assets.lib.llm.settings import LLMSettings
from rs_assets.lib.sources import SourcesConfigError, parse_sources
from rs_assets_tests.captions.test_captions_local import caption_records
from rs_assets_tests.openai_stub_server import StubServer

GOOD = "A residential area with two buildings near the river, captured in summer by Sentinel-2."
WRONG = {  # caption -> (decision, the signal that must catch it, a phrase of its evidence)
    "Three ships are moored next to the two buildings in the residential area.": (
        "hallucinated_object",
        "hallucinated_objects",
        "ships",
    ),
    "Five buildings line the river in this residential area seen by Sentinel-2.": (
        "low_score",
        "count_mismatch",
        "five buildings (annotated: 2)",
    ),
    "Ein Wohngebiet mit zwei Gebäuden an einem Fluss, im Sommer aufgenommen.": (
        "wrong_language",
        "language",
        "de",
    ),
    "A snowy winter scene: two buildings of a residential area under frost in January.": (
        "low_score",
        "date_mismatch",
        "january, winter (acquired July, summer)",
    ),
    "A WorldView-3 image at 0.3 m resolution of two buildings in a residential area.": (
        "low_score",
        "sensor_mismatch",
        "worldview (sensor: Sentinel-2 MSI)",
    ),
    "Click here to read more: two buildings in a residential area. All rights reserved.": (
        "low_score",
        "boilerplate",
        "click here",
    ),
    GOOD.replace("summer", "the summer"): ("duplicate", "near_duplicate", None),
}


def record(lake: Lake) -> dict[str, Any]:
    """A residential scene in Bavaria, July 2020, Sentinel-2, two annotated buildings and no ship."""
    rec = caption_records(lake, 1)[0]
    rec.update(
        captured_at=datetime(2020, 7, 14, tzinfo=UTC),
        lat=48.1,
        lon=11.5,
        labels=["residential"],
        landcover=[{"cls": "river", "share": 0.1}],
        objects=[
            {"cls": "building", "x1": 5.0, "y1": 5.0, "x2": 15.0, "y2": 15.0},
            {"cls": "building", "x1": 40.0, "y1": 5.0, "x2": 55.0, "y2": 15.0},
        ],
    )
    return rec


def caption_rows(rec: dict[str, Any], texts: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "caption_id": f"cap-{i}",
            "image_id": rec["image_id"],
            "record_id": rec["record_id"],
            "source": rec["source"],
            "year": rec["year"],
            "strategy": "gaia",
            "text": text,
            "status": "ok",
            "caption_index": i,
        }
        for i, text in enumerate(texts)
    ]


def source(**fields: Any) -> Any:
    body = {"kind": "synthetic", "years": [2020], "per_year": 1, **fields}
    return parse_sources({"sources": {"demo": body}})["demo"]


def by_caption(table: Any) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in table.to_pylist():
        out.setdefault(row["caption_id"], {})[row["signal"]] = row
    return out


def test_captions_built_to_be_wrong_are_caught_and_never_selected(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RS_ASSETS_CLIP_WEIGHTS", raising=False)
    rec = record(lake)
    texts = [GOOD, *WRONG]
    caps = caption_rows(rec, texts)
    result = score_partition([rec], caps, source(), lake, LLMSettings())
    rows = by_caption(result.table)
    # one row per caption and signal, nothing missing
    assert set(rows) == {c["caption_id"] for c in caps}
    assert all(set(signals) == set(SIGNALS) for signals in rows.values())
    good = rows["cap-0"]
    assert good["overall"]["decision"] == "selected" and good["overall"]["rank"] == 1
    assert all(good[s]["score"] == 1.0 for s in ("hallucinated_objects", "count_mismatch", "date_mismatch"))
    for i, (decision, signal, evidence) in enumerate(WRONG.values(), start=1):
        signals = rows[f"cap-{i}"]
        assert signals["overall"]["decision"] == decision, texts[i]
        assert signals["overall"]["rank"] is None
        if evidence is not None:
            assert evidence in signals[signal]["evidence"], (texts[i], signals[signal])
    assert rows["cap-7"]["near_duplicate"]["evidence"] == "cap-0"
    assert rows["cap-7"]["near_duplicate"]["value"] >= 0.8
    assert rows["cap-3"]["language"]["value"] > 0.9  # confident German
    # a negated mention is no hallucination
    negated = score_partition(
        [rec],
        caption_rows(rec, ["No ships are visible near the two buildings."]),
        source(),
        lake,
        LLMSettings(),
    )
    assert by_caption(negated.table)["cap-0"]["hallucinated_objects"]["value"] == 0
    # signals that cannot run say so on every caption, never silently absent
    for signals in rows.values():
        assert signals["clip_alignment"]["status"] == "skipped"
        assert "RS_ASSETS_CLIP_WEIGHTS" in signals["clip_alignment"]["detail"]
        assert signals["judge_relevance"]["status"] == "skipped"
        assert "judge: true" in signals["judge_relevance"]["detail"]
    assert set(result.stats["decisions"]) <= set(DECISIONS)


def test_records_without_facts_skip_their_checks_and_clip_weights_must_exist(
    lake: Lake, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RS_ASSETS_CLIP_WEIGHTS", str(tmp_path / "missing.bin"))
    rec = caption_records(lake, 1)[0]
    rec.update(objects=[], labels=[], landcover=[], captured_at=None, sensor=None, gsd_m=None)
    rows = by_caption(
        score_partition(
            [rec], caption_rows(rec, ["Three ships in winter."]), source(), lake, LLMSettings()
        ).table
    )["cap-0"]
    for signal in ("hallucinated_objects", "count_mismatch", "date_mismatch", "sensor_mismatch"):
        assert rows[signal]["status"] == "skipped" and rows[signal]["detail"], signal
    assert (
        "missing.bin" in rows["clip_alignment"]["detail"]
        and "is not a file" in rows["clip_alignment"]["detail"]
    )
    assert rows["overall"]["decision"] == "selected"  # nothing contradicts it


def test_language_id_uses_only_the_bundled_model() -> None:
    detector = _detector()
    assert detector.detect("Ein Hafen mit drei Schiffen im Winter.", model="lite")[0]["lang"] == "de"
    assert set(detector._models) == {"low_memory"}  # the shipped lid.176.ftz; the full model is a download


def test_policy_top_k_min_score_and_unknown_signals(lake: Lake) -> None:
    rec = record(lake)
    texts = [GOOD, "Two buildings in a residential area by a river.", "A residential area with a river."]
    table = score_partition(
        [rec], caption_rows(rec, texts), source(select={"top_k": 2}), lake, LLMSettings()
    ).table
    decisions = [r["decision"] for r in table.to_pylist() if r["signal"] == "overall"]
    assert decisions.count("selected") == 2 and decisions.count("below_top_k") == 1
    strict = source(select={"min_score": 1.0, "by": ["length"]})
    short = score_partition([rec], caption_rows(rec, ["Two buildings."]), strict, lake, LLMSettings()).table
    assert [r["decision"] for r in short.to_pylist() if r["signal"] == "overall"] == ["low_score"]
    with pytest.raises(SourcesConfigError, match=r"select\.by.*unknown signals \['fluency'\]"):
        source(select={"by": ["fluency"]})


def test_local_judge_rates_through_the_runner(lake: Lake) -> None:
    rec = record(lake)
    texts = [GOOD, next(iter(WRONG))]
    table = score_partition([rec], caption_rows(rec, texts), source(judge=True), lake, LLMSettings()).table
    rows = by_caption(table)
    assert rows["cap-0"]["judge_hallucination"]["value"] == 5
    assert rows["cap-1"]["judge_hallucination"]["value"] < 5
    assert {rows[c][s]["status"] for c in rows for s in ("judge_relevance", "judge_fluency")} == {"ok"}
    assert rows["cap-0"]["judge_relevance"]["prompt_id"] == "caption_judge.v1"


def test_judge_on_the_openai_server_is_structured_stored_and_budgeted(stub: StubServer, lake: Lake) -> None:
    rec = record(lake)
    caps = caption_rows(rec, [GOOD, "Two buildings in a residential area by a river."])
    settings = replace(LLMSettings.from_env(), backoff_base_s=0.01, backoff_max_s=0.05, timeout_s=5.0)
    first = score_partition([rec], caps, source(judge=True), lake, settings)
    calls = stub.calls()
    assert len(calls) == 1  # one call rates every caption of the image
    body = json.loads(calls[0].body)
    assert body["response_format"]["json_schema"]["strict"] is True
    assert body["model"] == "gpt-4o" and any(
        p.get("type") == "image_url" for p in body["messages"][1]["content"]
    )
    rows = by_caption(first.table)
    assert rows["cap-0"]["judge_relevance"]["value"] == 1  # the stub answers the schema's minimum
    assert rows["cap-0"]["overall"]["decision"] == "low_score"  # a judge rating of 1 fails the gate
    assert sum(r["cost_usd"] or 0 for r in first.table.to_pylist()) > 0
    again = score_partition([rec], caps, source(judge=True), lake, settings)
    assert len(stub.calls()) == 1 and again.stats["judge"]["cache_hits"] == 1  # the response store answers
    broke = score_partition(
        [rec],
        caption_rows(rec, ["The river flows past two buildings in a residential area."]),
        source(judge=True),
        lake,
        replace(settings, budget_usd=0.0),
    )
    judged = by_caption(broke.table)["cap-0"]
    assert judged["judge_relevance"]["status"] == "budget_exhausted" and len(stub.calls()) == 1
    assert judged["overall"]["decision"] == "selected"  # an unrated caption is judged by the other signals
