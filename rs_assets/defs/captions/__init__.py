"""Stage: captions."""
