"""What a task answers from: one record, its image's final captions and the source's class vocabulary.

Also the small pieces every task family shares: deterministic template choice, class names as words,
and the comparison of class names across objects, labels and land cover.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

from rs_assets.lib.captions.facts import grid_position, plural, record_facts
from rs_assets.lib.captions.strategies import preference_rank
from rs_assets.lib.instruction_sets.boxes import Region, Text, region_of
from rs_assets.lib.records import stable_hash

Pair = tuple[Text, Text]
Answer = tuple[list[Pair], list[str], str | None]  # (question/answer pairs, caption ids used, skip reason)
INVARIANT = frozenset({"aircraft", "sheep", "deer", "fish"})  # plural == singular
TROPICS_LAT = 23.44
NOT_COVER = frozenset({"cloud", "nodata", "no_data", "unknown", "unlabeled"})  # shares that are no land cover


@dataclass(frozen=True)
class Vocabulary:
    """The classes a source annotates: every object class and label seen in its partition's records,
    and each object class's median extent in metres (from records with a known GSD).

    `vqa_absent` asks about these classes in images that lack them, so a deceptive question only
    names a class the source would have annotated had it been there; the extent keeps it from asking
    about objects too small to see at the image's resolution.
    """

    objects: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    extent_m: tuple[tuple[str, float], ...] = ()

    def extent(self, cls: str) -> float | None:
        return dict(self.extent_m).get(cls)


def annotated(obj: dict[str, Any]) -> bool:
    """An object with a class and four finite coordinates (anything else is not an annotation)."""
    coords = [obj.get(k) for k in ("x1", "y1", "x2", "y2")]
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in coords)
    return bool(obj.get("cls")) and numbers


def source_vocabulary(records: Iterable[dict[str, Any]]) -> Vocabulary:
    """The vocabulary of a source from its partition's records (all of them, not only canonical ones)."""
    labels: set[str] = set()
    sizes: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        labels.update(str(x) for x in rec.get("labels") or [] if x)
        gsd = rec.get("gsd_m")
        for obj in filter(annotated, rec.get("objects") or []):
            box = region_of(obj, rec.get("width"), rec.get("height"))
            extent = max(box.x2 - box.x1, box.y2 - box.y1) if box else None
            sizes[str(obj["cls"])].extend([extent * gsd] if gsd and extent else [])
    extent = tuple((c, statistics.median(v)) for c, v in sorted(sizes.items()) if v)
    return Vocabulary(tuple(sorted(sizes)), tuple(sorted(labels)), extent)


def pick(options: Sequence[Any], *key: Any) -> Any:
    """A deterministic choice per key, so phrasings vary across records but never across runs."""
    return options[int(stable_hash(*key), 16) % len(options)]


def shuffled(items: Iterable[Any], *key: Any) -> list[Any]:
    """Items in a deterministic per-key order (which classes a record is asked about)."""
    return sorted(items, key=lambda item: stable_hash(*key, str(item)))


def noun(cls: str, count: int = 1) -> str:
    """`storage_tank` -> `storage tank(s)`; `aircraft` stays `aircraft`."""
    word = cls.replace("_", " ")
    return word if count == 1 or word.split(" ")[-1] in INVARIANT else plural(cls, count)


def article(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def there(cls: str, count: int) -> str:
    """`there is one ship` / `there are 3 ships`."""
    return f"there is one {noun(cls)}" if count == 1 else f"there are {count} {noun(cls, count)}"


def where(cell: str) -> str:
    """A 3x3 grid cell as a phrase: `at the top left`, `in the center`, `on the left`."""
    if cell == "center":
        return "in the center"
    return f"on the {cell}" if cell in ("left", "right") else f"at the {cell}"


def region_cell(region: Region, width: int, height: int) -> str:
    return grid_position((region.x1 + region.x2) / 2, (region.y1 + region.y2) / 2, width, height)


def tropical(inp: TaskInput) -> bool:
    """Within the tropics the temperate seasons do not apply (wet and dry seasons instead)."""
    lat = inp.record.get("lat")
    return lat is not None and abs(lat) < TROPICS_LAT


def pct(share: float) -> int:
    return round(share * 100)


def km(metres: float) -> str:
    return f"{metres / 1000:.1f} km" if metres >= 1000 else f"{metres:.0f} m"


@lru_cache(maxsize=4096)  # a source has few class names; every absent-class check compares them
def name_words(name: str) -> frozenset[str]:
    """A class name as a set of words, the last singular: `storage tanks` and `storage_tank` match."""
    words = name.lower().replace("_", " ").replace("-", " ").split()
    if words:
        last = words[-1]
        if last.endswith("ies") and len(last) > 4:
            last = last[:-3] + "y"
        elif last.endswith("s") and not last.endswith("ss") and len(last) > 3:
            last = last[:-1]
        words[-1] = last
    return frozenset(words)


def related(a: str, b: str) -> bool:
    """Whether two class names may denote the same thing (one's words contain the other's)."""
    wa, wb = name_words(a), name_words(b)
    return bool(wa and wb) and (wa <= wb or wb <= wa)


class TaskInput:
    """One record with what the tasks derive from it, computed once and shared by every task."""

    def __init__(
        self,
        record: dict[str, Any],
        captions: Sequence[dict[str, Any]] = (),
        vocabulary: Vocabulary = Vocabulary(),
    ) -> None:
        self.record, self.captions, self.vocabulary = record, captions, vocabulary

    @property
    def key(self) -> str:
        return self.record["record_id"]

    def choose(self, options: Sequence[Any], *key: Any) -> Any:
        return pick(options, self.key, *key)

    @property
    def width(self) -> int:
        return int(self.record.get("width") or 0)

    @property
    def height(self) -> int:
        return int(self.record.get("height") or 0)

    @cached_property
    def objects(self) -> list[dict[str, Any]]:
        """The record's objects with a class and four finite coordinates: the annotations every task
        counts, places and names alike (a nameless or coordinate-less entry is none of them)."""
        return [o for o in self.record.get("objects") or [] if annotated(o)]

    @property
    def labels(self) -> list[str]:
        return [str(x) for x in self.record.get("labels") or [] if x]

    @cached_property
    def facts(self) -> dict[str, Any]:
        return record_facts({**self.record, "objects": self.objects})

    @cached_property
    def landcover(self) -> list[tuple[str, float]]:
        """Land-cover classes (cloud and no-data excluded) with their share of the image, largest first."""
        return [(d["cls"], d["share"]) for d in self.facts["landcover"] if d["cls"] not in NOT_COVER]

    def share(self, cls: str) -> float:
        return sum(s for c, s in self.landcover if c == cls)

    @cached_property
    def regions(self) -> list[Region | None]:
        """Each object's usable box, in object order (None when it cannot be placed in the image)."""
        return [region_of(obj, self.width, self.height) for obj in self.objects]

    @cached_property
    def boxes(self) -> dict[str, list[Region | None]]:
        """The regions per object class, classes sorted."""
        out: dict[str, list[Region | None]] = defaultdict(list)
        for obj, region in zip(self.objects, self.regions, strict=True):
            out[str(obj["cls"])].append(region)
        return dict(sorted(out.items()))

    def placeable(self, limit: int) -> dict[str, list[Region]]:
        """Classes whose every object has a usable box (at most `limit`), with the boxes in reading
        order: an answer listing 'every ship' must list every one."""
        out = {}
        for cls, boxes in self.boxes.items():
            usable = [b for b in boxes if b is not None]
            if usable and len(usable) == len(boxes) <= limit:
                out[cls] = sorted(usable, key=lambda r: (r.x1, r.y1, r.x2, r.y2))
        return out

    @cached_property
    def best_caption(self) -> dict[str, Any] | None:
        """An ok final caption of the preferred strategy (a deterministic one among its five)."""
        ranked = sorted(self.captions, key=lambda c: (preference_rank(c["strategy"]), c["caption_id"]))
        best = [c for c in ranked if c["strategy"] == ranked[0]["strategy"]]
        return self.choose(best, "caption") if best else None

    @property
    def ref_captions(self) -> list[str]:
        return [c.strip() for c in self.record.get("ref_captions") or [] if c and c.strip()]

    @property
    def legacy_ref(self) -> str | None:
        """The dataset caption `legacy_caption` restates (stable per record)."""
        refs = self.ref_captions
        return self.choose(refs, "ref") if refs else None
