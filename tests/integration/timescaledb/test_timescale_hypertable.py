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
