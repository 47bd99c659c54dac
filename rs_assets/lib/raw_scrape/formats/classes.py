"""Class lists as the datasets document them, and the count of objects whose class is not in the list.

An object of an unknown class (a typo in an annotation, a class of another version) is kept as written;
`extra.unknown_classes` counts them per class so they can be found and mapped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any, Literal

DOCUMENTED: dict[str, tuple[str, ...]] = {
    # DOTA v2.0 (v1.0's 15, v1.5's container-crane, v2.0's airport and helipad), as in labelTxt files
    "dota": (
        "plane",
        "ship",
        "storage-tank",
        "baseball-diamond",
        "tennis-court",
        "basketball-court",
        "ground-track-field",
        "harbor",
        "bridge",
        "large-vehicle",
        "small-vehicle",
        "helicopter",
        "roundabout",
        "soccer-ball-field",
        "swimming-pool",
        "container-crane",
        "airport",
        "helipad",
    ),
    # DIOR's 20 classes, as in its VOC XML (DIOR-RSVG reuses them); compared case-insensitively
    "dior": (
        "airplane",
        "airport",
        "baseballfield",
        "basketballcourt",
        "bridge",
        "chimney",
        "dam",
        "Expressway-Service-area",
        "Expressway-toll-station",
        "golffield",
        "groundtrackfield",
        "harbor",
        "overpass",
        "ship",
        "stadium",
        "storagetank",
        "tenniscourt",
        "trainstation",
        "vehicle",
        "windmill",
    ),
    # FAIR1M's 37 fine-grained classes (5 categories), as in its XML <possibleresult><name>
    "fair1m": (
        "Passenger Ship",
        "Motorboat",
        "Fishing Boat",
        "Tugboat",
        "other-ship",
        "Engineering Ship",
        "Liquid Cargo Ship",
        "Dry Cargo Ship",
        "Warship",
        "Small Car",
        "Bus",
        "Cargo Truck",
        "Dump Truck",
        "other-vehicle",
        "Van",
        "Trailer",
        "Tractor",
        "Excavator",
        "Truck Tractor",
        "Boeing737",
        "Boeing747",
        "Boeing777",
        "Boeing787",
        "ARJ21",
        "C919",
        "A220",
        "A321",
        "A330",
        "A350",
        "other-airplane",
        "Baseball Field",
        "Basketball Court",
        "Football Field",
        "Tennis Court",
        "Roundabout",
        "Intersection",
        "Bridge",
    ),
}
ClassList = Literal[tuple(DOCUMENTED)]  # type: ignore[valid-type]  # the sources YAML `classes:` names


def class_names(source: Any, default: str | None = None) -> tuple[str, ...] | None:
    """The source's `classes` (a list, or the name of a documented one), else the format's default."""
    chosen = source.classes if source.classes is not None else default
    if chosen is None:
        return None
    return DOCUMENTED[chosen] if isinstance(chosen, str) else tuple(chosen)


def unknown_classes(objects: Iterable[dict[str, Any]], names: Sequence[str] | None) -> dict[str, int]:
    """Objects per class not in `names` (case-insensitive); empty when there is no list to check."""
    if names is None:
        return {}
    known = {n.lower() for n in names}
    return dict(sorted(Counter(o["cls"] for o in objects if o["cls"].lower() not in known).items()))
