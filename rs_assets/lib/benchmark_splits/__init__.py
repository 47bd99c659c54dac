"""benchmark_splits: leak-safe train/val/test assignment."""
