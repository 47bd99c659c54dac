"""Stage: release."""
