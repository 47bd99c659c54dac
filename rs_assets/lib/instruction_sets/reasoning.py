"""`reasoning`: why / what-if questions answered from visible evidence plus metadata.

Each reason states its evidence (the date and hemisphere, the snow or water share, the GSD, the cloud
cover) and draws only the conclusion that evidence supports: a season from the date, checked against
snow; "cannot tell" for a flood from one image; what the ground sampling distance resolves; what
clouds hide from an optical sensor.
"""

from __future__ import annotations

from collections.abc import Callable

from rs_assets.lib.captions.facts import join_words
from rs_assets.lib.instruction_sets.inputs import Answer, Pair, TaskInput, km, pct, shuffled, tropical

SEASON_QUESTIONS = (
    "In which season was this image probably taken, and what supports that?",
    "What time of year does this scene show? Explain.",
    "Which season is it in this image, and why?",
)
FLOOD_QUESTIONS = (
    "Water covers a large part of this scene. Does that mean the area is flooded?",
    "Could this image show a flood? Explain from what is visible.",
    "Is the water in this image a sign of flooding?",
)
CARS_QUESTIONS = (
    "Could individual cars be counted in this image?",
    "Is the resolution high enough to make out single cars?",
    "Would a parked car be visible in this image? Why?",
)
FOOTPRINT_QUESTIONS = (
    "How large an area does this image cover on the ground?",
    "What ground area does this scene span?",
    "Roughly how many kilometres across is this image?",
)
CLOUD_QUESTIONS = (
    "Why might some ground features be missing from this image?",
    "What limits what can be seen in this scene?",
    "Is anything hiding parts of the ground in this image?",
)
CAR_LENGTH_M = 4.5
SNOW = ("snow", "ice", "snow_ice", "glacier")
WATER = ("water", "sea", "lake", "river")
MIN_WATER = 0.15
MIN_CLOUD_PCT = 10
RADAR = ("sar", "sentinel-1", "radarsat", "terrasar", "iceye", "capella")
MAX_REASONS = 3


def _when(inp: TaskInput) -> str:
    f = inp.facts
    return f"{f['month_name']} {f['year']}"


def season(inp: TaskInput) -> str | None:
    f = inp.facts
    if not f["month_name"]:
        return None
    if tropical(inp):
        return (
            f"The image was acquired in {_when(inp)}, but at latitude {f['lat']:.1f} the four temperate "
            "seasons do not apply: the tropics have wet and dry seasons, which the date alone does not tell."
        )
    snow = sum(inp.share(c) for c in SNOW)
    if f["hemisphere"]:
        basis = f"the image was acquired in {_when(inp)}, {f['season']} in the {f['hemisphere']} hemisphere"
    else:
        basis = f"the image was acquired in {_when(inp)}, {f['season']} assuming the northern hemisphere"
    answer = f"{f['season'].capitalize()}: {basis}."
    if snow >= 0.05 and f["season"] == "winter":
        answer += f" Snow covering about {pct(snow)}% of the scene fits a winter scene."
    elif snow >= 0.05:
        answer += (
            f" Snow still covers about {pct(snow)}% of the scene, which points to high altitude or high "
            "latitude rather than to winter."
        )
    elif inp.landcover and f["season"] == "winter":
        answer += " No snow is visible, so the evidence for winter is the date alone."
    return answer


def flood(inp: TaskInput) -> str | None:
    water = sum(inp.share(c) for c in WATER)
    if water < MIN_WATER:
        return None
    flooded = [x for x in inp.labels if "flood" in x.lower()]
    if flooded:
        return (
            f"Yes: the scene is labelled {join_words(flooded)}, and water covers about {pct(water)}% of it."
        )
    return (
        f"Not from this image alone. Water covers about {pct(water)}% of the scene, but one image cannot "
        "tell a flood from permanent water: that needs an earlier image of the same place showing land "
        "where the water is now."
    )


def _gsd(inp: TaskInput) -> tuple[float, str] | None:
    gsd = inp.facts["gsd_m"]
    if not gsd:
        return None
    sensor = inp.facts["sensor"]
    return gsd, f"{gsd:g} m ground sampling distance" + (f" ({sensor})" if sensor else "")


def cars(inp: TaskInput) -> str | None:
    known = _gsd(inp)
    if known is None:
        return None
    gsd, at = known
    px = CAR_LENGTH_M / gsd
    if px >= 5:
        return (
            f"Yes. At {at} a car about {CAR_LENGTH_M:g} m long spans about {px:.0f} pixels, enough to count."
        )
    if px >= 1.5:
        return (
            f"Barely. At {at} a car spans only about {px:.1f} pixels: cars show as small blobs that are "
            "hard to count reliably."
        )
    return (
        f"No. At {at} one pixel is wider than a car is long ({CAR_LENGTH_M:g} m); only features larger than "
        f"about {2 * gsd:g} m can be made out."
    )


def footprint(inp: TaskInput) -> str | None:
    known = _gsd(inp)
    if known is None or not inp.width or not inp.height:
        return None
    gsd, at = known
    w, h = inp.width * gsd, inp.height * gsd
    return f"About {km(w)} by {km(h)}: {inp.width} x {inp.height} pixels at {at}."


def clouds(inp: TaskInput) -> str | None:
    cloud, sensor = inp.facts["cloud_pct"], inp.facts["sensor"] or ""
    if cloud is None or cloud < MIN_CLOUD_PCT or any(r in sensor.lower() for r in RADAR):
        return None
    named = f"an optical sensor like {sensor}" if sensor else "an optical sensor"
    return (
        f"Clouds: about {cloud}% of the scene is under cloud, and {named} cannot see through it, so "
        "whatever lies beneath is hidden."
    )


Reason = Callable[[TaskInput], str | None]
REASONS: dict[str, tuple[tuple[str, ...], Reason]] = {
    "season": (SEASON_QUESTIONS, season),
    "flood": (FLOOD_QUESTIONS, flood),
    "cars": (CARS_QUESTIONS, cars),
    "footprint": (FOOTPRINT_QUESTIONS, footprint),
    "clouds": (CLOUD_QUESTIONS, clouds),
}


def reasoning_pairs(inp: TaskInput) -> list[tuple[str, str, str]]:
    """(reason, question, answer) for every reason the record supports, in a per-record order."""
    out = []
    for name in shuffled(REASONS, inp.key, "reasoning"):
        questions, answer_fn = REASONS[name]
        answer = answer_fn(inp)
        if answer:
            out.append((name, inp.choose(questions, "reasoning", name), answer))
    return out


def reasoning(inp: TaskInput) -> Answer:
    found = reasoning_pairs(inp)
    if not found:
        return [], [], "no_metadata"
    pairs: list[Pair] = [(q, a) for _, q, a in found[:MAX_REASONS]]
    return pairs, [], None
