"""High-bit-depth bands to 8 bits for display and hashing (the stored original keeps its values)."""

from __future__ import annotations

import numpy as np

STRETCH_PERCENTILES = (2.0, 98.0)  # per band, exact zeros (no-data) ignored


def percentile_stretch(
    bands: np.ndarray, percentiles: tuple[float, float] = STRETCH_PERCENTILES
) -> np.ndarray:
    """(h, w, k) values -> uint8, each band mapped linearly from its low to its high percentile. Optical
    reflectances (Sentinel-2 L2A 0..10000, Landsat Collection 2 7273..43636) use a small part of the
    16-bit range: keeping the high byte would give near-black images."""
    out = np.zeros(bands.shape, np.uint8)
    for k in range(bands.shape[2]):
        band = bands[..., k].astype(np.float32)
        valid = band[band != 0]
        if valid.size == 0:
            continue
        lo, hi = np.percentile(valid, percentiles)
        scaled = (band - lo) * (255.0 / max(float(hi - lo), 1e-6))
        out[..., k] = np.clip(scaled, 0, 255).astype(np.uint8)
    return out
