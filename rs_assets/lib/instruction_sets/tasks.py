"""The instruction task registry: each task turns one `TaskInput` (record, captions, source vocabulary)
into question/answer pairs, or a skip reason when nothing in the record grounds it.

A task answers from the record only; it never invents. A new task is one entry here plus its function
in the module of its family (descriptions, vqa, grounding, reasoning, dialogue), its skip reasons
below, and a version bump whenever its output changes (the version is part of the instruction id).
Task names are the contract of the sources YAML `instructions:` (DESIGN 6b).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from rs_assets.lib.instruction_sets.descriptions import brief_caption, detailed_description
from rs_assets.lib.instruction_sets.dialogue import multi_turn
from rs_assets.lib.instruction_sets.grounding import grounding, region_caption
from rs_assets.lib.instruction_sets.inputs import Answer, TaskInput
from rs_assets.lib.instruction_sets.legacy import legacy_caption, legacy_vqa
from rs_assets.lib.instruction_sets.reasoning import reasoning
from rs_assets.lib.instruction_sets.vqa import (
    scene_classification,
    vqa_absent,
    vqa_count,
    vqa_landcover,
    vqa_presence,
)

TaskFn = Callable[[TaskInput], Answer]


@dataclass(frozen=True)
class Task:
    name: str
    description: str
    answer: TaskFn
    version: str = "v1"  # part of the instruction id and prompt id: bump when the output changes
    uses_model: bool = False  # free text the model rephrases under `instruction_backend: llm` (llm.py)

    @property
    def prompt_id(self) -> str:
        return f"instruction_{self.name}.{self.version}"


_ORDER = (
    Task(
        "brief_caption",
        "one short caption: the best caption by strategy preference, else a dataset caption (ref_captions)",
        brief_caption,
        "v3",
    ),
    Task(
        "detailed_description",
        "hierarchical: a local sentence per salient object class and land-cover "
        "region, then a global integration (>= 60 words)",
        detailed_description,
        uses_model=True,
    ),
    Task("scene_classification", "scene categories from the record's labels", scene_classification, "v2"),
    Task(
        "vqa_presence",
        "'Is there a ...?' about the image's object classes and labels; yes answers",
        vqa_presence,
    ),
    Task(
        "vqa_absent",
        "deceptive questions about source classes the image lacks; no, and what is there",
        vqa_absent,
    ),
    Task("vqa_count", "how many objects of each class", vqa_count),
    Task("vqa_landcover", "dominant land cover, a class's share, a comparison of two classes", vqa_landcover),
    Task("grounding", "phrase -> every box of a class; referring description -> its box", grounding, "v2"),
    Task(
        "region_caption",
        "box -> the object there (its referring description, else class and place)",
        region_caption,
    ),
    Task(
        "multi_turn",
        ">= 3 turns: scene, count, where 'they' are, an absent class, surroundings, a reason",
        multi_turn,
        uses_model=True,
    ),
    Task(
        "reasoning",
        "why / what-if from evidence and metadata: season, flood, GSD limits, footprint, clouds",
        reasoning,
        uses_model=True,
    ),
    Task("legacy_caption", "one of the dataset's own captions (ref_captions), restated", legacy_caption),
    Task("legacy_vqa", "the dataset's own QA (ref_qa) as one multi-turn conversation", legacy_vqa),
)
TASKS: dict[str, Task] = {t.name: t for t in _ORDER}
InstructionTask = Literal[tuple(TASKS)]  # type: ignore[valid-type]  # the sources YAML `instructions:` keys
RENAMED: dict[str, str] = {"object_count": "vqa_count"}  # old name -> new: a sources file naming one fails
SKIP_REASONS: dict[str, str] = {
    "no_caption": "no ok final caption for the image and no caption of its own dataset (ref_captions)",
    "no_labels": "the record has no labels",
    "no_objects": "the record has no objects",
    "no_usable_boxes": "no object box can be placed in the image (no image size, empty or outside it), or "
    "none is unique (a class with more than 30 objects is not asked about)",
    "no_objects_or_labels": "the record has neither objects nor labels",
    "no_absent_class": "every class of the source vocabulary (visible at the image's GSD) is in the image",
    "nothing_known": "the record names nothing in the image, so a no cannot say what is there instead",
    "no_landcover": "the record has no land-cover shares",
    "too_little_to_describe": "no object or land cover to describe locally, or fewer than 60 words of facts",
    "too_little_for_dialogue": "the record supports fewer than 3 turns",
    "no_metadata": "no date, GSD, large water or cloud share to reason from",
    "not_drawn": "the source's `instructions:` share for the task left this image out (deterministic draw)",
    "image_cap": "the image reached max_conversations_per_image with other tasks",
    "invalid_conversation": "the conversation failed validation (`error` says how); a bug, never exported",
    "duplicate_pair": "a (question, answer) pair repeats another conversation of the image",
    "no_ref_captions": "the record has no captions of its own dataset (ref_captions)",
    "no_ref_qa": "the record has no question-answer pairs of its own dataset (ref_qa)",
    "llm_unusable": "the model call gave no usable answer: transport error, refusal, truncation, filter, or "
    "an answer that does not parse or fit the schema (`error` holds the status and why)",
    "llm_wrong_count": "the model's answer states a count the record's objects contradict",
    "llm_wrong_absence": "the model's answer calls absent a class the record has, or present one it lacks",
    "llm_boxes": "the model's answer writes coordinates, or drops or adds a <boxes> marker (boxes come "
    "from the record only)",
    "budget_exhausted": "not sent: the request's reserved cost would exceed RS_ASSETS_LLM_BUDGET_USD",
    "dry_run": "not sent: RS_ASSETS_LLM_DRY_RUN, tokens and cost are estimated in the metadata",
    "pending": "submitted to the Batch API, no answer yet (the next run collects it)",
}
MODEL_TASKS: tuple[str, ...] = tuple(t.name for t in _ORDER if t.uses_model)
