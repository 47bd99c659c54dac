"""Stage: pool."""
