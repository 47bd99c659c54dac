"""Record-level logic and storage, importable and testable without Dagster."""
