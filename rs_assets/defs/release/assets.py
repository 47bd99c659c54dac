"""release: export bundles (LLaVA, open_clip, HF Parquet, WebDataset, Karpathy) and the dataset card."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import LakeResource
from rs_assets.defs.stage import counts, funnel_metadata, stage_asset, write_partition
from rs_assets.lib.release.report import written_release_funnel
from rs_assets.lib.release.versions import ReleaseVersionError
from rs_assets.lib.release.writer import ImageCopies, ReleaseOptions, write_release


class ReleaseConfig(dg.Config):
    # empty: the newest version again when nothing changed, else the next `vNNNN`; a named version must
    # be new (versions are immutable). `release/latest` points at the newest.
    version: str = ""
    images: ImageCopies = "folder_and_tars"  # where image bytes go: images/, inside the tars, or both
    shard_size: int = 1000  # most samples per WebDataset tar
    min_shards: int = 4  # fewest tars per split (open_clip needs one per dataloader worker)


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(
        project,
        deps=[
            "raw_scrape",
            "image_clusters",
            "benchmark_splits",
            "captions",
            "caption_scores",
            "instruction_sets",
        ],
        contract=False,
        extra_checks=[
            dg.AssetCheckSpec(
                "non_empty_splits",
                asset="release",
                blocking=True,
                description="the train split and the open_clip/LLaVA files are not empty",
            )
        ],
        kinds={"parquet", "json"},
    )
    def release(
        context: dg.AssetExecutionContext, config: ReleaseConfig, lake: LakeResource
    ) -> dg.MaterializeResult:
        store = lake.lake()
        benchmarks = [name for name, src in project.sources.items() if src.role == "benchmark"]
        options = ReleaseOptions(config.images, config.shard_size, config.min_shards)
        licenses = {name: src.license for name, src in project.sources.items()}
        try:
            manifest = write_release(store, config.version, options, licenses, benchmarks)
        except ReleaseVersionError as exc:  # an existing version with other content, or the alias
            raise dg.Failure(str(exc)) from exc
        version = manifest["version"][0].as_py()
        metadata = write_partition(context, store, "release", manifest, config=config)
        rows = {(r["format"], r["split"]): r["rows"] for r in manifest.to_pylist()}
        ok = all(rows.get((fmt, "train"), 0) > 0 for fmt in ("llava", "open_clip_csv"))
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "version": version,
                "files_by_format": counts(manifest["format"].to_pylist()),
                "card": dg.MetadataValue.path(store.uri(f"release/{version}/README.md")),
                "report": dg.MetadataValue.path(store.uri(f"release/{version}/report.html")),
                **funnel_metadata(written_release_funnel(store, version)),
                "train_llava_conversations": rows.get(("llava", "train"), 0),
                "train_open_clip_rows": rows.get(("open_clip_csv", "train"), 0),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name="non_empty_splits",
                    passed=ok,
                    metadata={k: v for (k, s), v in rows.items() if s == "train"},
                )
            ],
        )

    return release


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
