"""release: sample selection, one module per export format, the dataset card."""
