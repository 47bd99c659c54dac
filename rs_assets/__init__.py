"""rs_assets: remote-sensing vision-language datasets as Dagster software-defined assets."""

__version__ = "0.1.0"
