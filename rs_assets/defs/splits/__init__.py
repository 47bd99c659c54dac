"""Stage: splits."""
