"""Stage: clusters."""
