"""The production instance config (deploy/dagster.postgres.yaml) against the real PostgreSQL on
127.0.0.1:5432 (trust auth), with the lake on moto S3: a partition run is recorded in Postgres."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import boto3
import dagster as dg
import psycopg2
import pytest
import yaml

from rs_assets_tests.pipeline import failed_checks, run_partitions

REPO = Path(__file__).parents[1]
DEPLOY = REPO / "deploy" / "dagster.postgres.yaml"


@pytest.fixture
def pg_database() -> str:
    """A throwaway database on the local server, dropped afterwards."""
    name = f"rs_assets_test_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    except psycopg2.OperationalError as exc:
        pytest.fail(f"PostgreSQL must run on 127.0.0.1:5432 with trust auth: {exc}")
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_production_instance_on_postgres_and_s3(
    tmp_path: Path, pg_database: str, s3_env: str, rs_home, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY, home / "dagster.yaml")
    for name, value in {
        "DAGSTER_HOME": str(home),
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": pg_database,
        "RS_ASSETS_LAKE": "s3://prod-lake/rs",
    }.items():
        monkeypatch.setenv(name, value)
    boto3.client("s3").create_bucket(Bucket="prod-lake")
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        # the run monitoring test_run_monitoring.py proves on dagster.yaml: a killed worker's slot is freed
        assert "MONITORING" in instance.get_required_daemon_types()
        shipped = yaml.safe_load((REPO / "dagster.yaml").read_text())["run_monitoring"]
        assert instance.run_monitoring_settings == shipped
        results = run_partitions(instance, ["tiny_synthetic|2020"], publish=False)
        assert failed_checks(results) == []
        run_ids = [r.run_id for r in results]  # pool_job, clusters_job, partition_job
    with psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname=pg_database) as conn:
        cur = conn.cursor()
        cur.execute("SELECT status FROM runs WHERE run_id = ANY(%s)", (run_ids,))
        assert cur.fetchall() == [("SUCCESS",)] * 3
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = ANY(%s)"
            " AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_ids,),
        )
        assert cur.fetchone()[0] == 7  # the six per-partition stages and image_clusters, once each
