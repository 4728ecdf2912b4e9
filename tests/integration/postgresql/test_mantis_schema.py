"""The MANTIS metadata schema shipped with the postgresql role, applied by the module."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.ansible_runner import run_module

SCHEMA = Path(__file__).resolve().parents[3] / "roles" / "postgresql" / "files" / "migrations"
TABLES = sorted(
    """sites production_lines assets sensors spare_parts technicians work_orders anomalies rul_predictions
    maintenance_rules asset_spare_parts work_order_parts maintenance_history ml_models kpi_snapshots""".split()
)


@pytest.fixture
def schema_db(postgres, database):
    result = run_module(
        "mantis.datalayer.postgresql_migrations", {**postgres.login, "login_db": database, "path": str(SCHEMA)}
    )
    assert not result.failed, result.output
    assert result.result["applied"] == sorted(p.name for p in SCHEMA.glob("*.sql"))
    return database


def sql(postgres, database, query):
    return postgres.psql(query, database=database)


def test_fifteen_tables_with_uuid_keys_jsonb_and_timestamps(postgres, schema_db):
    tables = sql(
        postgres,
        schema_db,
        "SELECT string_agg(tablename, ' ' ORDER BY tablename) FROM pg_tables"
        " WHERE schemaname = 'public' AND tablename NOT IN ('schema_migrations', 'spatial_ref_sys')",
    )
    assert tables.split() == TABLES
    # Every table: uuid primary key with a default, updated_at kept by a trigger.
    keyed = sql(
        postgres,
        schema_db,
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'id'"
        " AND data_type = 'uuid' AND column_default = 'gen_random_uuid()'",
    )
    assert keyed == "15"
    triggers = sql(postgres, schema_db, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '%_set_updated_at'")
    assert triggers == "15"


def test_updated_at_trigger_and_location_geometry(postgres, schema_db):
    sql(
        postgres,
        schema_db,
        "INSERT INTO assets (asset_code, name, asset_type, location, created_at, updated_at)"
        " VALUES ('PUMP-1', 'pump', 'pump', ST_SetSRID(ST_MakePoint(12.5, 3.0), 0), now() - interval '1 day',"
        " now() - interval '1 day')",
    )
    sql(postgres, schema_db, "UPDATE assets SET status = 'degraded' WHERE asset_code = 'PUMP-1'")
    fresh = sql(postgres, schema_db, "SELECT updated_at > now() - interval '1 minute' FROM assets")
    assert fresh == "t"
    assert sql(postgres, schema_db, "SELECT ST_X(location) || ',' || ST_SRID(location) FROM assets") == "12.5,0"


def test_constraints_reject_orphans_and_unknown_enumerations(postgres, schema_db):
    with pytest.raises(RuntimeError, match="violates foreign key constraint"):
        sql(
            postgres,
            schema_db,
            "INSERT INTO sensors (asset_id, sensor_code, sensor_type) VALUES (gen_random_uuid(), 'S-1', 'vibration')",
        )
    with pytest.raises(RuntimeError, match="assets_criticality_check"):
        sql(
            postgres,
            schema_db,
            "INSERT INTO assets (asset_code, name, asset_type, criticality) VALUES ('A', 'a', 'x', 'urgent')",
        )
    with pytest.raises(RuntimeError, match="assets_status_check"):
        sql(
            postgres,
            schema_db,
            "INSERT INTO assets (asset_code, name, asset_type, status) VALUES ('A', 'a', 'x', 'broken')",
        )
