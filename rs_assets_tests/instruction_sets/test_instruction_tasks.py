"""Every instruction task family, its answers asserted against records built to test each rule; the mix;
validation; box conventions; and the trainer exports loaded back from a real release folder."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rs_assets.lib.instruction_sets.boxes import Boxes, Region, angle, render, rerender
from rs_assets.lib.instruction_sets.build import build_instructions
from rs_assets.lib.instruction_sets.inputs import TaskInput, Vocabulary, source_vocabulary
from rs_assets.lib.instruction_sets.mix import instruction_mix
from rs_assets.lib.instruction_sets.tasks import TASKS
from rs_assets.lib.instruction_sets.validate import conversation_problems
from rs_assets.lib.lake import Lake
from rs_assets.lib.release.formats import geochat, llava, messages
from rs_assets.lib.release.writer import ReleaseWriter
from rs_assets.lib.sources import SourcesConfigError, parse_sources

BOX = re.compile(r"\[(\d+), (\d+), (\d+), (\d+)\]")


def record(rid: str = "r1", **fields: Any) -> dict[str, Any]:
    """A harbour scene: two ships (one oriented, one described), a storage tank, land cover and
    metadata; `fields` override."""
    base = {
        "record_id": rid,
        "image_id": f"img-{rid}",
        "source": "s",
        "year": 2020,
        "width": 500,
        "height": 250,
        "labels": ["harbor"],
        "captured_at": "2020-07-15T10:00:00+00:00",
        "lat": 51.9,
        "lon": 4.1,
        "sensor": "WorldView-3",
        "gsd_m": 0.5,
        "cloud_cover": 0.0,
        "landcover": [{"cls": "water", "share": 0.55}, {"cls": "urban", "share": 0.3}],
        "objects": [
            {
                "cls": "ship",
                "x1": 50,
                "y1": 25,
                "x2": 100,
                "y2": 50,
                "description": "The ship at the top left.",
            },
            {
                "cls": "ship",
                "x1": 250,
                "y1": 125,
                "x2": 300,
                "y2": 250,
                "poly": [250, 140, 290, 125, 300, 235, 260, 250],
            },
            {"cls": "storage_tank", "x1": 400, "y1": 10, "x2": 420, "y2": 30},
        ],
    }
    return {**base, **fields}


def turns(row: dict[str, Any]) -> list[dict[str, str]]:
    return json.loads(row["conversations"])


def pairs(row: dict[str, Any]) -> list[tuple[str, str]]:
    t = turns(row)
    return [(t[i]["value"].removeprefix("<image>\n"), t[i + 1]["value"]) for i in range(0, len(t), 2)]


def by_task(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["task"]: r for r in rows}


ASKED = re.compile(
    r"^(?:Is there an? |Are there any |Can you see an? |Does this scene contain an? |Does this image show "
    r"|Is |Can )(.+?)(?: in this image| here| visible in this scene| be seen in this image)?\?$"
)


def asked(question: str) -> str:
    """The class a presence/absence question names, singular (`Are there any ships ...?` -> `ship`)."""
    match = ASKED.match(question)
    assert match, question
    name = match.group(1)
    return name[:-1] if name.endswith("s") and not name.endswith("ss") else name


def scaled(obj: dict[str, Any], w: int, h: int) -> list[int]:
    return [round(1000 * obj["x1"] / w), round(1000 * obj["y1"] / h), round(1000 * obj["x2"] / w),
            round(1000 * obj["y2"] / h)]  # fmt: skip


# -- vocabulary of a partition: the harbour, an airport scene and a label-only scene ------------------
AIRPORT = record(
    "r2",
    labels=["airport"],
    objects=[{"cls": "aircraft", "x1": 10, "y1": 10, "x2": 90, "y2": 90}],
    landcover=[{"cls": "urban", "share": 0.8}],
)
BEACH = record("r3", labels=["beach"], objects=[], landcover=[])
PARTITION = [record(), AIRPORT, BEACH]
VOCAB = source_vocabulary(PARTITION)


def test_vocabulary_is_every_class_and_label_of_the_partition() -> None:
    assert VOCAB.objects == ("aircraft", "ship", "storage_tank")
    assert VOCAB.labels == ("airport", "beach", "harbor")
    assert VOCAB.extent("aircraft") == pytest.approx(80 * 0.5)  # median extent in metres


def test_counts_equal_the_objects_of_each_class() -> None:
    objects = [{"cls": "building", "x1": i, "y1": 0, "x2": i + 5, "y2": 5} for i in range(0, 70, 10)]
    objects += [{"cls": "ship", "x1": 100, "y1": 100, "x2": 120, "y2": 110}]
    rows = by_task(build_instructions([record(objects=objects)], [], ["vqa_count", "multi_turn"], VOCAB))
    answers = dict(zip(["building", "ship"], [a for _, a in pairs(rows["vqa_count"])], strict=True))
    assert answers == {"building": "7", "ship": "1"}
    assert next(q for q, _ in pairs(rows["vqa_count"])).count("buildings") == 1
    # the dialogue counts the most numerous class, then gives exactly its boxes
    (_, count), (_, boxes) = pairs(rows["multi_turn"])[1:3]
    assert count == "There are 7 buildings."
    assert BOX.findall(boxes) == [tuple(str(v) for v in scaled(o, 500, 250)) for o in objects[:7]]


def test_deceptive_questions_name_only_absent_classes_and_say_what_is_there() -> None:
    rows = build_instructions(PARTITION, [], ["vqa_absent"], VOCAB)
    harbour, airport, beach = (by_task([r])["vqa_absent"] for r in rows)
    # the harbour lacks aircraft; the airport lacks ships and tanks; labels are not asked where land
    # cover is known (they name only the dominant covers), but are on the label-only beach
    assert [asked(q) for q, _ in pairs(harbour)] == ["aircraft"]
    assert (
        pairs(harbour)[0][1]
        == "No, no aircraft are visible in this image. It shows 2 ships and 1 storage tank."
    )
    assert sorted(asked(q) for q, _ in pairs(airport)) == ["ship", "storage tank"]
    assert all(a.startswith("No, ") and a.endswith("It shows 1 aircraft.") for _, a in pairs(airport))
    asked_beach = sorted(asked(q) for q, _ in pairs(beach))  # two of the five absent classes
    assert len(asked_beach) == 2 and set(asked_beach) <= {
        "aircraft",
        "ship",
        "storage tank",
        "airport",
        "harbor",
    }
    assert all(a.endswith("It shows beach.") for _, a in pairs(beach))


def test_absent_classes_respect_plurals_land_cover_and_resolution() -> None:
    vocab = Vocabulary(objects=("storage_tank", "building", "ship"), extent_m=(("building", 20.0),))
    # "storage tanks" (a label) names the storage_tank class; a building of ~20 m spans 2 px at 10 m GSD
    rec = record(labels=["storage tanks"], objects=[], gsd_m=10.0, landcover=[{"cls": "ship", "share": 0.1}])
    rows = by_task(build_instructions([rec], [], ["vqa_absent"], vocab))
    assert (rows["vqa_absent"]["status"], rows["vqa_absent"]["skip_reason"]) == ("skipped", "no_absent_class")
    rows = by_task(build_instructions([{**rec, "gsd_m": 0.5}], [], ["vqa_absent"], vocab))
    assert [asked(q) for q, _ in pairs(rows["vqa_absent"])] == ["building"]


def test_presence_answers_are_yes_with_the_true_count() -> None:
    row = by_task(build_instructions([record()], [], ["vqa_presence"], VOCAB))["vqa_presence"]
    answers = {asked(q): a for q, a in pairs(row)}
    assert answers == {
        "ship": "Yes, there are 2 ships in this image, mostly at the top left and at the bottom.",
        "storage tank": "Yes, there is one storage tank in this image, at the top right.",
        "harbor": "Yes, the image shows harbor.",
    }


def test_boxes_are_the_objects_boxes_scaled() -> None:
    rec = record()
    rows = by_task(build_instructions([rec], [], ["grounding", "region_caption"], VOCAB))
    ground = pairs(rows["grounding"])
    ships = [o for o in rec["objects"] if o["cls"] == "ship"]
    expected = {
        "ship": [tuple(str(v) for v in scaled(o, 500, 250)) for o in ships],
        "storage tank": [tuple(str(v) for v in scaled(rec["objects"][2], 500, 250))],
        "the ship at the top left": [tuple(str(v) for v in scaled(ships[0], 500, 250))],
    }
    for question, answer in ground:
        name = next(n for n in sorted(expected, key=len, reverse=True) if n in question)
        assert BOX.findall(answer) == expected[name], question
    assert len(ground) == 3
    for question, answer in pairs(rows["region_caption"]):
        (box,) = BOX.findall(question)
        obj = next(o for o in rec["objects"] if tuple(str(v) for v in scaled(o, 500, 250)) == box)
        want = "The ship at the top left." if obj.get("description") else obj["cls"].replace("_", " ")
        assert want in answer
    # the stored spans hold the pixel boxes, so exports can rewrite them exactly
    spans = json.loads(rows["grounding"]["regions"])["spans"]
    assert spans[0]["boxes"][1]["poly"] == ships[1]["poly"]


def test_unusable_boxes_are_never_stated() -> None:
    outside = {"cls": "ship", "x1": 600, "y1": 0, "x2": 700, "y2": 50}  # right of a 500 px image
    rec = record(objects=[*record()["objects"][:2], outside])
    ground = pairs(by_task(build_instructions([rec], [], ["grounding"], VOCAB))["grounding"])
    assert [q for q, _ in ground if "described" not in q and "top left" not in q] == []  # no "every ship"
    assert ground == [(ground[0][0], "[100, 100, 200, 200]")]  # only the referring description
    rows = by_task(build_instructions([record(width=None, height=None)], [], ["grounding", "region_caption"]))
    assert {t: r["skip_reason"] for t, r in rows.items()} == {
        "grounding": "no_usable_boxes",
        "region_caption": "no_usable_boxes",
    }


def test_malformed_objects_are_left_out_not_crashes() -> None:
    objects = [
        {"cls": None, "x1": 0, "y1": 0, "x2": 5, "y2": 5},  # nameless
        {"cls": "ship", "x1": None, "y1": 0, "x2": 5, "y2": 5},  # no box: no annotation to count or place
        {"cls": "ship", "x1": 10, "y1": 10, "x2": 20, "y2": 20, "poly": [1.0] * 7},  # bad poly: dropped
        {"cls": "ship", "x1": 600, "y1": 10, "x2": 700, "y2": 20},  # outside: counted, never placed
    ]
    rec = record(objects=objects, labels=[None, "harbor"])
    rows = by_task(build_instructions([rec], [], list(TASKS), source_vocabulary([rec])))
    assert [a for _, a in pairs(rows["vqa_count"])] == ["2"]
    assert rows["grounding"]["skip_reason"] == "no_usable_boxes"  # "every ship" cannot be answered
    assert [BOX.findall(q) for q, _ in pairs(rows["region_caption"])] == [[("20", "40", "40", "80")]]
    assert json.loads(rows["region_caption"]["regions"])["spans"][0]["boxes"][0]["poly"] is None
    assert {r["status"] for r in rows.values()} <= {"ok", "skipped"}


def test_each_task_skips_with_its_reason_when_nothing_grounds_it() -> None:
    bare = {"record_id": "b", "image_id": "ib", "source": "s", "year": 2020, "width": 100, "height": 100}
    rows = by_task(build_instructions([bare], [], list(TASKS), VOCAB))
    assert {t: (r["status"], r["skip_reason"]) for t, r in rows.items()} == {
        "brief_caption": ("skipped", "no_caption"),
        "detailed_description": ("skipped", "too_little_to_describe"),
        "scene_classification": ("skipped", "no_labels"),
        "vqa_presence": ("skipped", "no_objects_or_labels"),
        "vqa_absent": ("skipped", "nothing_known"),
        "vqa_count": ("skipped", "no_objects"),
        "vqa_landcover": ("skipped", "no_landcover"),
        "grounding": ("skipped", "no_objects"),
        "region_caption": ("skipped", "no_objects"),
        "multi_turn": ("skipped", "too_little_for_dialogue"),
        "reasoning": ("skipped", "no_metadata"),
        "legacy_caption": ("skipped", "no_ref_captions"),
        "legacy_vqa": ("skipped", "no_ref_qa"),
    }
    assert all(r["conversations"] is None and r["regions"] is None for r in rows.values())
    # with no generated caption, brief_caption and the dialogue fall back on the dataset's own captions
    refs = {**bare, "ref_captions": ["", "Many ships."], "labels": ["harbor"], "gsd_m": 1.0}
    rows = by_task(build_instructions([refs], [], ["brief_caption", "legacy_caption", "multi_turn"], VOCAB))
    assert {r["status"] for r in rows.values()} == {"ok"}
    assert pairs(rows["legacy_caption"])[0][1] == pairs(rows["multi_turn"])[0][1] == "Many ships."
    assert pairs(rows["brief_caption"])[0][1] == "Many ships." and rows["brief_caption"]["caption_ids"] == []


def test_brief_caption_prefers_generated_captions_then_another_dataset_caption_than_legacy() -> None:
    refs = ["A harbour with ships.", "Two ships near a tank.", "Boats moored at a quay."]
    recs = [record(f"r{i}", ref_captions=refs) for i in range(12)]
    rows = build_instructions(recs, [], ["brief_caption", "legacy_caption"], VOCAB)
    answers: dict[str, dict[str, str]] = {}
    for row in rows:
        assert row["status"] == "ok"
        answers.setdefault(row["record_id"], {})[row["task"]] = pairs(row)[0][1]
    assert all(
        a["brief_caption"] in refs and a["brief_caption"] != a["legacy_caption"] for a in answers.values()
    )
    assert len({a["brief_caption"] for a in answers.values()}) > 1  # the pick varies over records
    caps = [{"caption_id": "c1", "image_id": "img-r0", "strategy": "meta", "text": "A port.", "status": "ok"}]
    row = by_task(build_instructions(recs[:1], caps, ["brief_caption"], VOCAB))["brief_caption"]
    assert pairs(row)[0][1] == "A port." and row["caption_ids"] == ["c1"]


def test_detailed_description_goes_local_then_global_in_60_words_or_more() -> None:
    caps = [
        {"caption_id": "c1", "image_id": "img-r1", "strategy": "meta", "text": "A harbour.", "status": "ok"}
    ]
    row = by_task(build_instructions([record()], caps, ["detailed_description"], VOCAB))[
        "detailed_description"
    ]
    text = pairs(row)[0][1]
    local, overall = text.split("\n\n")
    assert local.startswith("2 ships appear, mostly at the top left and at the bottom.")
    assert 'One of them is described as "The ship at the top left".' in local
    assert "A single storage tank sits at the top right." in local and "Water covers about 55%" in local
    assert overall.startswith("Overall, this is a scene of harbor near ")
    assert "July 2020 (summer in the northern hemisphere)" in overall and "250 m by 125 m" in overall
    assert overall.endswith("Summary: A harbour.") and row["caption_ids"] == ["c1"]
    assert len(text.split()) >= 60


def test_landcover_answers_match_the_shares() -> None:
    cover = [
        {"cls": "forest", "share": 0.6},
        {"cls": "water", "share": 0.25},
        {"cls": "cloud", "share": 0.15},
    ]
    row = by_task(build_instructions([record(landcover=cover)], [], ["vqa_landcover"]))["vqa_landcover"]
    (_, dominant), (share_q, share), (compare_q, compare) = pairs(row)
    assert dominant == "Forest, about 60% of the image."  # cloud is no land cover
    assert "water" in share_q and share == "About 25%."
    more = "more forest than water" in compare_q or "forest cover more of the scene than water" in compare_q
    assert compare.startswith("Yes, " if more else "No, ")
    assert "forest covers about 60%" in compare or "water covers about 25%" in compare


def test_reasoning_states_evidence_from_metadata() -> None:
    def reasons(**fields: Any) -> dict[str, str]:
        row = by_task(build_instructions([record(**fields)], [], ["reasoning"]))["reasoning"]
        return {q: a for q, a in pairs(row)} if row["status"] == "ok" else {}

    def season(**fields: Any) -> str:
        from rs_assets.lib.instruction_sets.reasoning import season as season_of

        return season_of(TaskInput(record(**fields))) or ""

    snow = [{"cls": "snow", "share": 0.4}, {"cls": "forest", "share": 0.6}]
    assert season(captured_at="2020-07-10T00:00:00+00:00", landcover=snow).startswith("Summer:")
    assert "high altitude or high latitude" in season(captured_at="2020-07-10T00:00:00+00:00", landcover=snow)
    assert "fits a winter scene" in season(captured_at="2020-01-10T00:00:00+00:00", landcover=snow)
    assert season(captured_at="2020-07-10T00:00:00+00:00", lat=-35.0).startswith("Winter:")  # southern
    assert "wet and dry seasons" in season(lat=1.3)
    answers = " ".join(reasons().values())
    assert "flood from permanent water" in answers or "car about 4.5 m long spans about 9 pixels" in answers
    from rs_assets.lib.instruction_sets.reasoning import cars, clouds, flood

    assert "Not from this image alone. Water covers about 55%" in (flood(TaskInput(record())) or "")
    assert (flood(TaskInput(record(labels=["flooded"]))) or "").startswith(
        "Yes: the scene is labelled flooded"
    )
    assert (cars(TaskInput(record(gsd_m=10.0))) or "").startswith("No. At 10 m ground sampling distance")
    assert "about 30% of the scene is under cloud" in (clouds(TaskInput(record(cloud_cover=0.3))) or "")
    assert clouds(TaskInput(record(cloud_cover=0.3, sensor="Sentinel-1 SAR"))) is None  # radar sees through


def test_multi_turn_has_three_or_more_turns_that_refer_back() -> None:
    row = by_task(build_instructions([record()], [], ["multi_turn"], VOCAB))["multi_turn"]
    conv = pairs(row)
    assert len(conv) >= 3
    assert conv[0] == (conv[0][0], "It is a scene of harbor.")
    assert conv[1][1] == "There are 2 ships." and re.search(r"\bthey\b|\bthem\b", conv[2][0])
    assert any(a == "No, no aircraft are visible in this image." for _, a in conv)
    assert turns(row)[0]["value"].startswith("<image>\n") and all(
        "<image>" not in t["value"] for t in turns(row)[1:]
    )


def _many(n: int) -> list[dict[str, Any]]:
    return [record(f"r{i}", captured_at=f"2020-{i % 12 + 1:02d}-10T00:00:00+00:00") for i in range(n)]


def test_phrasings_vary_but_never_across_runs() -> None:
    recs = _many(60)
    rows = build_instructions(recs, [], list(TASKS), VOCAB)
    assert rows == build_instructions(recs, [], list(TASKS), VOCAB)
    questions: dict[str, set[str]] = {}
    for row in rows:
        if row["status"] == "ok":
            questions.setdefault(row["task"], set()).add(pairs(row)[0][0])
    assert all(len(q) >= 3 for t, q in questions.items() if t not in ("vqa_absent",)), questions
    assert all(r["status"] != "failed" for r in rows)
    # no (question, answer) pair repeats across the conversations of one image
    for rid in {r["record_id"] for r in rows}:
        seen = [p for r in rows if r["record_id"] == rid and r["status"] == "ok" for p in pairs(r)]
        assert len(seen) == len(set(seen))


def test_mix_shares_and_the_per_image_cap() -> None:
    recs = _many(400)
    rows = build_instructions(recs, [], {"vqa_count": 1.0, "grounding": 0.25}, VOCAB)
    status = Counter((r["task"], r["skip_reason"]) for r in rows)
    assert status[("vqa_count", None)] == 400
    assert (
        70 <= status[("grounding", None)] <= 130
        and status[("grounding", "not_drawn")] == 400 - status[("grounding", None)]
    )
    assert {(r["image_id"], r["task"]) for r in rows} == {
        (r["image_id"], t) for r in recs for t in ("vqa_count", "grounding")
    }
    capped = build_instructions(recs[:50], [], list(TASKS), VOCAB, max_per_image=2)
    per_image = Counter(r["image_id"] for r in capped if r["status"] == "ok")
    assert set(per_image.values()) == {2}
    assert Counter(r["skip_reason"] for r in capped)["image_cap"] >= 50 * 7  # 10 ok tasks each, 2 kept
    assert len({frozenset(r["task"] for r in capped if r["image_id"] == i and r["status"] == "ok")
                for i in per_image}) > 5  # fmt: skip  # the kept tasks rotate across images


def test_instructions_config_list_mapping_and_errors() -> None:
    def parse(instructions: Any, **extra: Any) -> Any:
        body = {"kind": "synthetic", "years": [2020], "per_year": 1, "instructions": instructions, **extra}
        return parse_sources({"sources": {"src": body}}, years=range(2020, 2021))["src"]

    assert parse(["vqa_count", "grounding"]).instructions == {"vqa_count": 1.0, "grounding": 1.0}
    assert parse({"vqa_count": 1, "grounding": 0.3}).instructions == {"vqa_count": 1.0, "grounding": 0.3}
    assert parse([], max_conversations_per_image=3).max_conversations_per_image == 3
    default = parse_sources({"sources": {"s": {"kind": "synthetic", "years": [2020], "per_year": 1}}})["s"]
    assert default.instructions == dict.fromkeys(TASKS, 1.0)
    for bad, needle in [
        (["object_count"], "task 'object_count' was renamed to 'vqa_count'"),
        (["vqa_count", "vqa_count"], "task 'vqa_count' is listed twice"),
        (["ocr"], "unknown task 'ocr'"),
        ({"grounding": 0}, "share must be a number in (0, 1], got 0"),
        ({"grounding": 1.5}, "got 1.5"),
        ({"grounding": True}, "got True"),
        ("grounding", "expected a list of tasks or a mapping"),
    ]:
        with pytest.raises(SourcesConfigError) as err:
            parse(bad)
        assert "source 'src': field 'instructions'" in str(err.value) and needle in str(err.value), err.value
    with pytest.raises(SourcesConfigError, match="max_conversations_per_image"):
        parse([], max_conversations_per_image=0)
    assert instruction_mix({"reasoning": 0.5}) == {"reasoning": 0.5}


def test_validation_names_every_broken_rule() -> None:
    ok = [{"from": "human", "value": "<image>\nQ?"}, {"from": "gpt", "value": "A."}]
    assert conversation_problems(ok, [], 10, 10) == []
    box = {"turn": 1, "start": 0, "end": 1, "boxes": [{"cls": "c", "x1": 0, "y1": 0, "x2": 11, "y2": 5}]}
    problems = conversation_problems(
        [
            {"from": "human", "value": "Q?"},
            {"from": "gpt", "value": " "},
            {"from": "gpt", "value": "<image>"},
        ],
        [box],
        10,
        10,
    )
    assert "turns are not (human, gpt) pairs" in problems
    assert "turn 1 is empty" in problems and "turn 2 is from 'gpt', expected 'human'" in problems
    assert any(p.startswith("<image> must appear once") for p in problems)
    assert "turn 1: box [0, 0, 11, 5] outside the image" in problems
    repeated = [*ok, {"from": "human", "value": "Q?"}, {"from": "gpt", "value": "A."}]
    assert conversation_problems(repeated, [], 10, 10) == ["a (question, answer) pair is repeated"]


def test_box_conventions_render_and_rerender_exactly() -> None:
    oriented = Region("ship", 250, 125, 300, 250, (250, 140, 290, 125, 300, 235, 260, 250))
    plain = Region("storage_tank", 0, 0, 50, 25)
    text = ("Ships: ", Boxes((oriented, plain)), ".")
    llava_text, spans = render(text, "llava", 500, 250, turn=0)
    assert llava_text == "Ships: [500, 500, 600, 1000], [0, 0, 100, 100]."
    regions = {"width": 500, "height": 250, "spans": spans}
    assert rerender([llava_text], regions, "llava") == [llava_text]
    assert angle(oriented) == 69 and angle(plain) == 90  # atan2(-15, 40) = -20.6 deg, folded to (0, 90]
    assert rerender([llava_text], regions, "geochat") == [
        "Ships: {<50><50><60><100>|<69>}<delim>{<0><0><10><10>|<90>}."
    ]
    assert rerender([llava_text], regions, "qwen2vl") == [
        "Ships: <|box_start|>(500,500),(600,1000)<|box_end|><|box_start|>(0,0),(100,100)<|box_end|>."
    ]
    (qwen25,) = rerender([llava_text], regions, "qwen25vl")
    assert json.loads(qwen25.removeprefix("Ships: ").removesuffix(".")) == [
        {"bbox_2d": [250, 125, 300, 250], "label": "ship"},
        {"bbox_2d": [0, 0, 50, 25], "label": "storage tank"},
    ]


def test_exports_load_back_with_boxes_in_range(tmp_path: Path) -> None:
    """geochat, messages (llava, qwen2vl, qwen25vl) and dataset_info written by the real release writer
    into a real lake folder, then read as a trainer would."""
    rows = [r for r in build_instructions(PARTITION, [], list(TASKS), VOCAB) if r["status"] == "ok"]
    convs: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        convs.setdefault(r["image_id"], []).append(
            {
                "id": r["instruction_id"],
                "task": r["task"],
                "conversations": turns(r),
                "regions": json.loads(r["regions"]),
            }
        )
    samples = {"train": [{"image": f"images/{i}.jpg", "conversations": c} for i, c in sorted(convs.items())]}
    out = ReleaseWriter(Lake(str(tmp_path / "lake")), "v1")
    for module in (llava, geochat, messages):
        module.write(out, samples)
    root = tmp_path / "lake" / "release" / "v1"
    n = len(rows)
    llava_rows = json.loads((root / "llava" / "train.json").read_text())
    assert len(llava_rows) == n and set(llava_rows[0]) == {
        "id",
        "sample_id",
        "task",
        "conversations",
        "image",
    }
    geo = json.loads((root / "geochat" / "train.json").read_text())
    geo_boxes = [
        m
        for g in geo
        for t in g["conversations"]
        for m in re.findall(r"\{<(\d+)><(\d+)><(\d+)><(\d+)>\|<(\d+)>\}", t["value"])
    ]
    assert (
        geo_boxes
        and all(0 <= int(v) <= 100 for b in geo_boxes for v in b[:4])
        and all(0 < int(b[4]) <= 90 for b in geo_boxes)
    )
    info = json.loads((root / "dataset_info.json").read_text())
    assert set(info) == {f"rs_{t}_{s}" for t in messages.TARGETS for s in ("train", "val", "test")}
    for name, entry in info.items():
        assert entry["formatting"] == "sharegpt" and entry["columns"] == {
            "messages": "messages",
            "images": "images",
        }
        data = json.loads((root / entry["file_name"]).read_text())
        assert len(data) == (n if name.endswith("_train") else 0)
        for sample in data:
            roles = [m["role"] for m in sample["messages"]]
            assert roles == ["user", "assistant"] * (len(roles) // 2)
            assert (
                sum(m["content"].count("<image>") for m in sample["messages"]) == len(sample["images"]) == 1
            )
            assert sample["images"][0].startswith("images/")
    qwen2 = json.loads((root / "messages" / "qwen2vl" / "train.json").read_text())
    pts = [
        int(v)
        for s in qwen2
        for m in s["messages"]
        for v in re.findall(r"\((\d+),(\d+)\)", m["content"])
        for v in v
    ]
    assert pts and all(0 <= v <= 1000 for v in pts)
    qwen25 = json.loads((root / "messages" / "qwen25vl" / "train.json").read_text())
    harbour = next(s for s in qwen25 if s["images"] == ["images/img-r1.jpg"] and s["task"] == "grounding")
    found = [
        json.loads(x) for m in harbour["messages"] for x in re.findall(r"\{\"bbox_2d\".*?\}", m["content"])
    ]
    pixel_boxes = {(o["x1"], o["y1"], o["x2"], o["y2"]) for o in record()["objects"]}
    assert found and {tuple(b["bbox_2d"]) for b in found} <= pixel_boxes  # absolute pixels of the objects
    manifest = {m["path"]: m["format"] for m in out.manifest}
    assert manifest["dataset_info.json"] == "dataset_info" and manifest["geochat/train.json"] == "geochat"


def test_every_task_on_the_synthetic_source_is_true_to_its_records() -> None:
    from rs_assets.lib.raw_scrape.rows import to_row
    from rs_assets.lib.raw_scrape.synthetic import generate
    from rs_assets.lib.sources import SyntheticSource

    src = SyntheticSource(kind="synthetic", years=[2020], per_year=30, seed=7)
    recs = [
        row for row, _ in (to_row("syn", it) for it in generate("syn", src, 2020)) if row["status"] == "ok"
    ]
    vocab = source_vocabulary(recs)
    rows = build_instructions(recs, [], list(TASKS), vocab)
    assert {r["status"] for r in rows} == {"ok", "skipped"}
    no_text = {"brief_caption", "legacy_caption", "legacy_vqa"}  # no captions yet, no dataset text
    assert {r["task"] for r in rows if r["status"] == "ok"} == set(TASKS) - no_text
    by_record = {r["record_id"]: r for r in recs}
    for row in (r for r in rows if r["status"] == "ok"):
        rec = by_record[row["record_id"]]
        counts = Counter(o["cls"].replace("_", " ") for o in rec["objects"])
        if row["task"] == "vqa_count":
            for question, answer in pairs(row):
                name = next(c for c in counts if c in question)
                assert int(answer) == counts[name], (question, answer)
        if row["task"] == "vqa_absent":
            present = [*counts, *rec["labels"]]
            for question, answer in pairs(row):
                assert not any(asked(question) in p for p in present) and answer.startswith("No, "), question
        if row["task"] == "grounding":
            boxes = {tuple(int(v) for v in b) for b in BOX.findall(row["conversations"])}
            truth = {tuple(scaled(o, rec["width"], rec["height"])) for o in rec["objects"]}
            assert boxes <= {tuple(min(1000, max(0, v)) for v in b) for b in truth}


def test_a_partition_written_before_box_spans_fails_the_release_naming_it(tmp_path: Path) -> None:
    import pyarrow as pa

    from rs_assets.lib.lake import UnreadableTable, table_key
    from rs_assets.lib.release.samples import conversations_by_image

    lake = Lake(str(tmp_path / "lake"))
    rows = build_instructions([record()], [], ["vqa_count"], VOCAB)
    old = pa.Table.from_pylist(rows).drop_columns(["regions"])
    lake.write_table(table_key("instruction_sets", "s", 2020), old, {})
    with pytest.raises(UnreadableTable, match=r"(?s)source=s/year=2020.*regions.*rematerialise"):
        conversations_by_image(lake, {"img-r1": "r1"})
