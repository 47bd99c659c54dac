"""RS5M-style meta captions: metadata rendered through versioned template families, free and offline.

One caption per applicable family (a family applies when all its placeholders are known); the variant
within a family is drawn with a generator seeded by the record id, so output is deterministic. A record
no family applies to gets one `no_metadata` row, never an `ok` row without text.
"""

from __future__ import annotations

import random
import string
from typing import Any

from rs_assets.lib.captions.facts import join_words, landcover_phrases, object_phrases
from rs_assets.lib.captions.prompts import load_templates
from rs_assets.lib.captions.rows import caption_rows
from rs_assets.lib.records import stable_hash

TEMPLATES = ("meta_templates", "v1")
META_MODEL = "meta-templates"
NO_METADATA = ("no_metadata", "no template family applies: the record has no usable metadata")


def _cloud_phrase(pct: int) -> str:
    if pct < 5:
        return "the sky is clear"
    return "the view is partly cloudy" if pct < 40 else "clouds hide much of the ground"


def template_values(facts: dict[str, Any]) -> dict[str, Any]:
    """Placeholder values known for this record; missing keys make a family inapplicable."""
    v: dict[str, Any] = {}
    if facts["place"] and facts["place"]["country"]:
        v.update(country=facts["place"]["country"], city=facts["place"]["city"] or facts["place"]["country"])
    if facts["month_name"]:
        v.update(
            month_name=facts["month_name"],
            year=facts["year"],
            season=facts["season"],
            hemisphere=facts["hemisphere"] or "northern",
        )
    if facts["sensor"]:
        v.update(sensor=facts["sensor"], sensor_phrase=facts["sensor"])
    if facts["gsd_m"] is not None:
        v.update(gsd=f"{facts['gsd_m']:g}", resolution_lower=facts["resolution"].lower())
    if facts["cloud_pct"] is not None:
        v.update(cloud_pct=facts["cloud_pct"], cloud_phrase=_cloud_phrase(facts["cloud_pct"]))
    if facts["landcover"]:
        shares = landcover_phrases(facts)
        v.update(landcover_list=join_words(shares), landcover_top=shares[0])
        if len(shares) > 1:
            v["landcover_rest"] = join_words(shares[1:])
    if facts["objects"]:
        v["objects_list"] = join_words(object_phrases(facts))
    if facts["labels"]:
        v["labels_list"] = join_words(facts["labels"])
    v.update(
        {
            k[0].upper() + k[1:]: str(val)[0].upper() + str(val)[1:]
            for k, val in list(v.items())
            if isinstance(val, str) and val
        }
    )
    return v


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def meta_captions(record_id: str, facts: dict[str, Any], limit: int) -> list[tuple[str, str]]:
    """Up to `limit` (family, caption) pairs, families in file order, variants drawn per record."""
    values = template_values(facts)
    out = []
    for family, variants in load_templates(*TEMPLATES).items():
        usable = [t for t in variants if _fields(t) <= values.keys()]
        if usable and len(out) < limit:
            rng = random.Random(stable_hash("meta", record_id, family))
            text = rng.choice(usable).format(**values).strip()
            if text:
                out.append((family, text))
    return out


def meta_request_hash(record_id: str, facts: dict[str, Any], limit: int) -> str:
    """Lineage hash of everything the captions are rendered from: the template version, the record's
    template values (the facts meta captions can state), the variant seed (record id) and the limit."""
    return stable_hash("meta", *TEMPLATES, record_id, limit, template_values(facts), length=32)


def meta_rows(rec: dict[str, Any], facts: dict[str, Any], limit: int) -> list[dict[str, Any]]:
    pairs = meta_captions(rec["record_id"], facts, limit)
    return caption_rows(
        rec,
        "meta",
        [text for _, text in pairs],
        [],
        prompt_id=".".join(TEMPLATES),
        model=META_MODEL,
        facts={"families": [family for family, _ in pairs]},
        request_hash=meta_request_hash(rec["record_id"], facts, limit),
        empty=NO_METADATA,
    )
