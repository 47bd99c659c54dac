"""Stage: instructions."""
