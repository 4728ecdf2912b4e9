"""mantis.datalayer.timescale_hypertable against PostgreSQL 17 + TimescaleDB 2.19 (Apache edition)."""

from __future__ import annotations

import pytest

TABLE = "CREATE TABLE {name} (time timestamptz NOT NULL, sensor_id integer NOT NULL, value double precision)"


def chunk_interval(tsdb, table: str) -> str:
    return tsdb.sql(
        "SELECT time_interval FROM timescaledb_information.dimensions"
        f" WHERE hypertable_name = '{table}' AND dimension_type = 'Time'"
    )


def is_hypertable(tsdb, table: str) -> bool:
    count = tsdb.sql(f"SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = '{table}'")
    return count == "1"


@pytest.fixture(scope="module")
def readings(tsdb):
    tsdb.sql(TABLE.format(name="readings"))
    return "readings"


def test_check_mode_reports_the_change_and_creates_nothing(tsdb, readings):
    run = tsdb.run(
        "timescale_hypertable", {"table": readings, "time_column": "time", "chunk_time_interval": "1d"}, check=True
    )
    assert not run.failed, run.output
    assert run.changed
    assert run.result["queries"] == [
        "SELECT create_hypertable('\"public\".\"readings\"', by_range('time', '1 days'::interval))"
    ]
    assert not is_hypertable(tsdb, readings)


def test_create_then_no_op(tsdb, readings):
    args = {"table": readings, "time_column": "time", "chunk_time_interval": "1d"}
    run = tsdb.run("timescale_hypertable", args, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["diff"]["before"] == {}
    assert run.result["diff"]["after"]["chunk_time_interval"] == "1d"
    assert is_hypertable(tsdb, readings)
    assert chunk_interval(tsdb, readings) == "1 day"

    again = tsdb.run("timescale_hypertable", args, diff=True)
    assert not again.failed, again.output
    assert not again.changed
    assert again.result["queries"] == []


def test_chunk_interval_drift_is_corrected_with_a_diff(tsdb, readings):
    # Someone changed the interval by hand.
    tsdb.sql(f"SELECT set_chunk_time_interval('{readings}', interval '7 days')")
    args = {"table": readings, "time_column": "time", "chunk_time_interval": "24h"}

    check = tsdb.run("timescale_hypertable", args, check=True, diff=True)
    assert check.changed
    assert chunk_interval(tsdb, readings) == "7 days"

    run = tsdb.run("timescale_hypertable", args, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["diff"]["before"]["chunk_time_interval"] == "7d"
    assert run.result["diff"]["after"]["chunk_time_interval"] == "1d"
    assert run.result["queries"] == ["SELECT set_chunk_time_interval('\"public\".\"readings\"', '1 days'::interval)"]
    assert chunk_interval(tsdb, readings) == "1 day"
    assert not tsdb.run("timescale_hypertable", args).changed


def test_space_dimension(tsdb):
    tsdb.sql(TABLE.format(name="spaced"))
    args = {
        "table": "public.spaced",
        "time_column": "time",
        "chunk_time_interval": "12h",
        "partitioning_column": "sensor_id",
        "number_partitions": 2,
    }
    run = tsdb.run("timescale_hypertable", args)
    assert not run.failed, run.output
    assert (
        tsdb.sql(
            "SELECT column_name || ':' || num_partitions FROM timescaledb_information.dimensions"
            " WHERE hypertable_name = 'spaced' AND dimension_type = 'Space'"
        )
        == "sensor_id:2"
    )
    assert not tsdb.run("timescale_hypertable", args).changed
    run = tsdb.run("timescale_hypertable", {**args, "number_partitions": 4})
    assert run.changed
    assert (
        tsdb.sql(
            "SELECT num_partitions FROM timescaledb_information.dimensions"
            " WHERE hypertable_name = 'spaced' AND dimension_type = 'Space'"
        )
        == "4"
    )


def test_non_empty_table_needs_migrate_data_and_keeps_every_row(tsdb):
    tsdb.sql(TABLE.format(name="legacy"))
    tsdb.sql("INSERT INTO legacy SELECT now() - g * interval '1 hour', g % 10, g FROM generate_series(1, 500) g")
    args = {"table": "legacy", "time_column": "time", "chunk_time_interval": "1d"}

    refused = tsdb.run("timescale_hypertable", args)
    assert refused.failed
    assert "already holds rows" in refused.result["msg"]
    assert "migrate_data: true" in refused.result["msg"]
    assert not is_hypertable(tsdb, "legacy")

    run = tsdb.run("timescale_hypertable", {**args, "migrate_data": True})
    assert not run.failed, run.output
    assert run.changed
    assert "migrate_data => true" in run.result["queries"][0]
    assert is_hypertable(tsdb, "legacy")
    assert tsdb.sql("SELECT count(*) || ':' || sum(value) FROM legacy") == "500:125250"
    # Rows now live in chunks, not in the parent table.
    assert tsdb.sql("SELECT count(*) FROM ONLY legacy") == "0"
    assert int(tsdb.sql("SELECT count(*) FROM show_chunks('legacy')")) >= 20

    rerun = tsdb.run("timescale_hypertable", {**args, "migrate_data": True})
    assert not rerun.changed
    assert tsdb.sql("SELECT count(*) FROM legacy") == "500"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"table": "no_such_table", "time_column": "time"}, "table: public.no_such_table does not exist"),
        ({"table": "errors", "time_column": "ts"}, "time_column: column 'ts' does not exist in table public.errors"),
        (
            {"table": "errors", "time_column": "time", "chunk_time_interval": "90 dayz"},
            "chunk_time_interval: '90 dayz' is not a duration",
        ),
        ({"table": "errors", "time_column": "sensor_id"}, "has type integer"),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(tsdb, args, message):
    tsdb.sql("CREATE TABLE IF NOT EXISTS errors (time timestamptz NOT NULL, sensor_id integer)")
    run = tsdb.run("timescale_hypertable", args)
    assert run.failed
    assert message in run.result["msg"]
    assert not is_hypertable(tsdb, "errors")


def test_database_without_the_extension_is_reported(postgres, tsdb):
    postgres.psql("DROP DATABASE IF EXISTS it_no_extension")
    postgres.psql("CREATE DATABASE it_no_extension")
    try:
        from tests.support.ansible_runner import run_module

        run = run_module(
            "mantis.datalayer.timescale_hypertable",
            {**postgres.login, "login_db": "it_no_extension", "table": "x", "time_column": "time"},
        )
        assert run.failed
        assert "not installed in database 'it_no_extension'" in run.result["msg"]
        assert "CREATE EXTENSION timescaledb" in run.result["msg"]
    finally:
        postgres.psql("DROP DATABASE IF EXISTS it_no_extension")


# ---------------------------------------------------------------- user input never runs as SQL of its own

INJECTIONS = [
    "time timestamptz NOT NULL); drop table canary; --",
    "time timestamptz NOT NULL); COMMIT; drop table canary; create table canary2 (x int); --",
    "time timestamptz NOT NULL, x int DEFAULT 1; drop table canary",
]


@pytest.mark.parametrize("check", [True, False], ids=["check", "real"])
@pytest.mark.parametrize("definition", INJECTIONS)
def test_a_column_definition_cannot_run_another_statement(tsdb, definition, check):
    tsdb.sql("CREATE TABLE IF NOT EXISTS canary (x int)")
    run = tsdb.run(
        "timescale_hypertable", {"table": "victim", "time_column": "time", "columns": [definition]}, check=check
    )
    assert run.failed
    assert run.result["msg"].startswith("columns[0]: ")
    assert run.result["queries"] == []
    assert tsdb.sql("SELECT to_regclass('public.canary') IS NOT NULL") == "t"
    assert tsdb.sql("SELECT to_regclass('public.canary2') IS NULL AND to_regclass('public.victim') IS NULL") == "t"


def test_check_mode_executes_no_definition_and_the_real_run_lets_the_server_judge_them(tsdb):
    # The server would refuse this type: check mode cannot know (it runs nothing), the real run says so.
    args = {"table": "judged", "time_column": "time", "columns": ["time timestamptz NOT NULL", "x no_such_type"]}
    dry = tsdb.run("timescale_hypertable", args, check=True)
    assert not dry.failed, dry.output
    assert dry.result["queries"][0] == 'CREATE TABLE "public"."judged" (time timestamptz NOT NULL, x no_such_type)'
    real = tsdb.run("timescale_hypertable", args)
    assert real.failed
    assert 'columns: CREATE TABLE public.judged would fail: type "no_such_type" does not exist' in real.result["msg"]
    assert tsdb.sql("SELECT to_regclass('public.judged') IS NULL") == "t"


def test_legal_definitions_with_quotes_and_semicolons_are_kept_as_written(tsdb):
    columns = [
        "time timestamptz NOT NULL",
        "note text DEFAULT 'a;b) -- not a comment'",
        "body text DEFAULT $$x; y$$",
        '"Odd;Name" integer',
    ]
    run = tsdb.run("timescale_hypertable", {"table": "legal", "time_column": "time", "columns": columns})
    assert not run.failed, run.output
    tsdb.sql("INSERT INTO legal (time) VALUES (now())")
    assert tsdb.sql("SELECT note || '|' || body FROM legal") == "a;b) -- not a comment|x; y"
    assert (
        tsdb.sql("SELECT count(*) FROM pg_attribute WHERE attrelid = 'legal'::regclass AND attname = 'Odd;Name'") == "1"
    )


@pytest.mark.parametrize(
    ("table", "schema", "name"),
    [
        ('"Mäß Schema"."Sensör Daten"', "Mäß Schema", "Sensör Daten"),
        ('public."we""ird"', "public", 'we"ird'),
        ('"dotted.schema".readings', "dotted.schema", "readings"),
        # Unquoted names fold to lower case, as in SQL.
        ("Mixed_Case", "public", "mixed_case"),
    ],
)
def test_hostile_names_name_the_table_postgresql_would(tsdb, table, schema, name):
    tsdb.sql('CREATE SCHEMA IF NOT EXISTS "Mäß Schema"; CREATE SCHEMA IF NOT EXISTS "dotted.schema"')
    args = {
        "table": table,
        "time_column": "Time",
        "chunk_time_interval": "1d",
        "columns": ["time timestamptz NOT NULL"],
    }
    run = tsdb.run("timescale_hypertable", args)
    assert not run.failed, run.output
    assert run.result["hypertable"]["schema"] == schema
    assert run.result["hypertable"]["table"] == name
    literal_schema, literal_name = schema.replace("'", "''"), name.replace("'", "''")
    assert (
        tsdb.sql(
            "SELECT count(*) FROM timescaledb_information.hypertables"
            f" WHERE hypertable_schema = '{literal_schema}' AND hypertable_name = '{literal_name}'"
        )
        == "1"
    )
    assert not tsdb.run("timescale_hypertable", args).changed


def test_a_refused_statement_names_login_user(postgres, tsdb):
    tsdb.sql("CREATE TABLE IF NOT EXISTS owned_by_postgres (time timestamptz NOT NULL)")
    tsdb.sql("DROP ROLE IF EXISTS it_reader; CREATE ROLE it_reader LOGIN PASSWORD 'it-reader-pw-2b9c'")
    as_reader = {
        "table": "owned_by_postgres",
        "time_column": "time",
        "login_user": "it_reader",
        "login_password": "it-reader-pw-2b9c",
    }
    run = tsdb.run("timescale_hypertable", as_reader)
    assert run.failed
    # Refused already when the module reads whether the table holds rows.
    assert run.result["msg"].startswith(
        "Reading hypertable public.owned_by_postgres failed: permission denied for table owned_by_postgres"
    )
    assert "login_user 'it_reader' lacks the privilege" in run.result["msg"]
    assert not is_hypertable(tsdb, "owned_by_postgres")
    # With SELECT granted the read passes, and the change is refused for the owner's privilege.
    tsdb.sql("GRANT SELECT ON owned_by_postgres TO it_reader")
    run = tsdb.run("timescale_hypertable", as_reader)
    assert run.result["msg"].startswith(
        "Changing hypertable public.owned_by_postgres failed: must be owner of hypertable"
    )
    assert "login_user 'it_reader' lacks the privilege" in run.result["msg"]
    assert not is_hypertable(tsdb, "owned_by_postgres")
