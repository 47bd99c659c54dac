"""Optional image-text alignment with open_clip, only from weights the user supplies
(`RS_ASSETS_CLIP_WEIGHTS`, a local file; `RS_ASSETS_CLIP_MODEL`, default ViT-B-32). Weights are never
fetched. Without them, or without the `clip` extra, every caption gets an explicit `skipped` row with
the reason, so a missing signal is visible, never silent."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import Any

from rs_assets.lib.caption_scores.signal import Signal, skipped

NAME = "clip_alignment"
Scorer = Callable[[bytes, list[str]], list[float]]


def clip_problem() -> str | None:
    weights = os.environ.get("RS_ASSETS_CLIP_WEIGHTS")
    if not weights:
        return "RS_ASSETS_CLIP_WEIGHTS is not set (optional; a local open_clip weights file)"
    if not os.path.isfile(weights):
        return f"RS_ASSETS_CLIP_WEIGHTS={weights!r} is not a file"
    try:
        import open_clip  # noqa: F401
        import torch  # noqa: F401
    except ImportError as exc:
        return f"open_clip is not installed ({exc}); pip install 'rs_assets[clip]'"
    return None


def load_clip() -> Scorer:
    """Cosine similarity of the thumbnail with each caption (the user's weights, CPU)."""
    import open_clip
    import torch
    from PIL import Image

    arch = os.environ.get("RS_ASSETS_CLIP_MODEL", "ViT-B-32")
    model, _, preprocess = open_clip.create_model_and_transforms(
        arch, pretrained=os.environ["RS_ASSETS_CLIP_WEIGHTS"]
    )
    model.eval()
    tokenizer = open_clip.get_tokenizer(arch)

    def score(thumb: bytes, texts: list[str]) -> list[float]:
        with torch.no_grad():
            image = model.encode_image(preprocess(Image.open(io.BytesIO(thumb)).convert("RGB"))[None])
            text = model.encode_text(tokenizer(texts))
            image /= image.norm(dim=-1, keepdim=True)
            text /= text.norm(dim=-1, keepdim=True)
            return (text @ image.T)[:, 0].tolist()

    return score


def alignment(scorer: Scorer | None, problem: str | None, thumb: bytes | None, texts: list[str]) -> list[Any]:
    """One signal per text: cosine (value) mapped to 0-1 over CLIP's useful range 0.1-0.4 (score)."""
    if scorer is None or thumb is None:
        return [skipped(NAME, problem or "no thumbnail for the image") for _ in texts]
    return [
        Signal(NAME, round(c, 4), round(min(1.0, max(0.0, (c - 0.1) / 0.3)), 4)) for c in scorer(thumb, texts)
    ]
