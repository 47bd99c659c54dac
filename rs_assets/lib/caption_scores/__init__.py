"""caption_scores: quality signals per candidate caption and the per-image selection; see `score.py`."""
