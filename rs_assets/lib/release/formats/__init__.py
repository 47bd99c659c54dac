"""Export formats: each writes every split of the release through a `ReleaseWriter` (DESIGN 11).

A new format is one module with `write(out, samples)` plus its entry here (and in
`release.contract.FILE_FORMATS`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rs_assets.lib.release.formats import (
    croissant,
    geochat,
    hf_parquet,
    karpathy,
    llava,
    messages,
    open_clip,
    url_list,
    webdataset,
)

Writer = Callable[[Any, dict[str, list[dict[str, Any]]]], None]
FORMATS: dict[str, Writer] = {
    "llava": llava.write,
    "geochat": geochat.write,
    "messages": messages.write,
    "open_clip_csv": open_clip.write,
    "hf_parquet": hf_parquet.write,
    "webdataset": webdataset.write,
    "karpathy_json": karpathy.write,
    "url_list": url_list.write,
    "croissant": croissant.write,  # last: describes the files written before it
}
