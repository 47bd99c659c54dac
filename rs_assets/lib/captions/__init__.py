"""Caption strategies (RS5M meta, GAIA, MpGI) over one partition; see `engine.caption_partition`."""

from rs_assets.lib.captions.checks import caption_check_problems
from rs_assets.lib.captions.engine import CaptionResult, caption_partition

__all__ = ["CaptionResult", "caption_check_problems", "caption_partition"]
