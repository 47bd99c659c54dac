"""warehouse: `catalog.duckdb`, views over every asset's Parquet, rebuilt in a temp file and swapped."""

import dagster as dg

from rs_assets.defs.project import Project, load_project
from rs_assets.defs.resources import LakeResource
from rs_assets.defs.stage import stage_asset
from rs_assets.lib import settings
from rs_assets.lib.caption_scores.calibration import calibration_check
from rs_assets.lib.stages import table_stages
from rs_assets.lib.warehouse.catalog import build_catalog, connect


def build(project: Project) -> dg.AssetsDefinition:
    @stage_asset(
        project,
        deps=["release", "image_clusters"],
        contract=False,
        extra_checks=[
            dg.AssetCheckSpec(
                "views_answer",
                asset="warehouse",
                blocking=True,
                description="every view can be queried, and every table stage has one",
            ),
            dg.AssetCheckSpec(
                "score_calibration",
                asset="warehouse",
                description="automatic caption scores vs human ratings (Spearman per signal and rubric)",
            ),
        ],
        kinds={"duckdb"},
    )
    def warehouse(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
        store = lake.lake()
        target = settings.catalog_path()
        views = build_catalog(store, target)
        rows, failures = {}, {}
        failures.update({s.name: "no view" for s in table_stages() if s.name not in views})
        conn = connect(target, store)
        try:
            for view in views:
                try:
                    rows[view] = conn.execute(f'SELECT count(*) FROM "{view}"').fetchone()[0]
                except Exception as exc:  # reported by the check, with the view's error
                    failures[view] = str(exc)[:300]
            calibration = conn.sql("SELECT * FROM caption_calibration").to_arrow_table().to_pylist()
        finally:
            conn.close()
        calibrated, calibration_meta = calibration_check(calibration)
        return dg.MaterializeResult(
            metadata={"catalog": dg.MetadataValue.path(str(target)), "views": views, "rows_per_view": rows},
            check_results=[
                dg.AssetCheckResult(
                    check_name="views_answer", passed=not failures, metadata={"failures": failures or "none"}
                ),
                dg.AssetCheckResult(
                    check_name="score_calibration",
                    passed=calibrated,
                    metadata=calibration_meta,
                    severity=dg.AssetCheckSeverity.WARN,
                ),
            ],
        )

    return warehouse


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=[build(load_project())])
