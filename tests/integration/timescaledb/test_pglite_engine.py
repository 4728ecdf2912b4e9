"""The TimescaleDB community edition in PGlite (WebAssembly) is a real TSL engine.

These tests prove, with psycopg2 and no Docker, what the `pglite` fixture offers the
other tests: the community edition (license `timescale`), hypertables, retention and
columnstore (compression) policies run with `CALL run_job()`, continuous aggregates and
their refresh, `alter_job`, and transactional DDL. They also pin the engine's limits
(one connection at a time, one database, nothing preloaded) so that the documentation in
tests/support/pglite.py fails here when the engine changes. What the catalog views
return is printed (`pytest -s` shows it).
"""

from __future__ import annotations

import json
from contextlib import closing
from datetime import datetime, timedelta, timezone

import psycopg2
import psycopg2.errors
import pytest

METRICS = "pe_metrics"
HOURLY = "pe_metrics_hourly"
DAYS_OF_DATA = 40


def jobs(pglite, relation: str) -> list[tuple]:
    """(job_id, proc_name, config) of the jobs on a hypertable, by job id."""
    return pglite.sql(
        "SELECT job_id, proc_name, config FROM timescaledb_information.jobs WHERE hypertable_name = %s ORDER BY job_id",
        (relation,),
    )


def job_id(pglite, relation: str, proc_name: str) -> int:
    ids = [row[0] for row in jobs(pglite, relation) if row[1] == proc_name]
    assert len(ids) == 1, f"expected one {proc_name} job on {relation}, got {jobs(pglite, relation)}"
    return ids[0]


def hypertable_id(pglite, table: str) -> int:
    return pglite.value("SELECT id FROM _timescaledb_catalog.hypertable WHERE table_name = %s", (table,))


def show(title: str, rows) -> None:
    print(f"\n{title}:")
    for row in rows if isinstance(rows, list) else [rows]:
        print("   ", row)


def view_rows(pglite, view: str, where: str = "TRUE", params=None) -> tuple[list[str], list[tuple]]:
    """Columns and rows of a timescaledb_information view."""
    with closing(pglite.connect(autocommit=True)) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM timescaledb_information.{view} WHERE {where}", params)
        return [column.name for column in cursor.description], cursor.fetchall()


def hypertable(pglite, name: str) -> None:
    pglite.sql(f"CREATE TABLE {name} (time timestamptz NOT NULL, sensor_id integer NOT NULL, value double precision)")
    pglite.sql(f"SELECT create_hypertable('{name}', by_range('time', interval '1 day'))")


@pytest.fixture(scope="module")
def metrics(pglite):
    """A hypertable with one row an hour for the last DAYS_OF_DATA days, daily chunks."""
    hypertable(pglite, METRICS)
    pglite.sql(
        f"INSERT INTO {METRICS} SELECT now() - g * interval '1 hour', g % 5, g"
        f" FROM generate_series(1, 24 * {DAYS_OF_DATA}) g"
    )
    return METRICS


@pytest.fixture(scope="module")
def hourly(pglite, metrics):
    """A continuous aggregate on it, created WITH NO DATA."""
    pglite.sql(
        f"CREATE MATERIALIZED VIEW {HOURLY} WITH (timescaledb.continuous) AS"
        f" SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value"
        f" FROM {metrics} GROUP BY bucket, sensor_id WITH NO DATA"
    )
    return HOURLY


# ---------------------------------------------------------------- the engine


def test_the_engine_is_the_community_edition(pglite):
    assert pglite.value("SHOW timescaledb.license") == "timescale"
    version = pglite.value("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    major, minor = (int(part) for part in version.split(".")[:2])
    print(f"\nTimescaleDB {version}, PostgreSQL {pglite.value('SHOW server_version')}")
    assert (major, minor) >= (2, 18), version
    assert pglite.value("SHOW server_version_num").startswith("17")


def test_engine_limits(pglite):
    # Nothing is preloaded, yet the extension library is loaded (the license reads above).
    assert pglite.value("SHOW shared_preload_libraries") == ""
    # One database: whatever login_db says, the session is in template1.
    assert pglite.value("SELECT current_database()") == "template1"
    # CREATE DATABASE succeeds, but a connection naming it still lands in template1.
    pglite.sql("CREATE DATABASE pe_other")
    try:
        with closing(
            psycopg2.connect(
                host="127.0.0.1", port=pglite.port, user="postgres", password="x", dbname="pe_other", sslmode="disable"
            )
        ) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == "template1"
    finally:
        pglite.sql("DROP DATABASE pe_other")


def test_a_second_connection_waits_for_the_first(pglite):
    with closing(pglite.connect(autocommit=True)) as first:
        with pytest.raises(psycopg2.OperationalError, match="timeout expired"):
            pglite.connect(timeout=2)
        with first.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
    assert pglite.value("SELECT 2") == 2


def test_many_connections_in_a_row(pglite):
    for number in range(100):
        assert pglite.value("SELECT %s::int", (number,)) == number


def test_each_connection_starts_a_clean_session(pglite):
    """An abandoned transaction, settings and temporary tables do not reach the next client."""
    connection = pglite.connect()  # not autocommit: psycopg2 opens a transaction
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE pe_abandoned (x int)")
        cursor.execute("SET application_name = 'pe_leak'")
        cursor.execute("CREATE TEMP TABLE pe_temporary (x int)")
    connection.close()  # no commit
    assert pglite.value("SELECT to_regclass('pe_abandoned')") is None
    assert pglite.value("SHOW application_name") == ""
    assert pglite.value("SELECT to_regclass('pe_temporary')") is None
    assert pglite.value("SHOW search_path") == '"$user", public'
    # A failed statement in a transaction leaves nothing aborted behind either.
    connection = pglite.connect()
    with connection.cursor() as cursor, pytest.raises(psycopg2.errors.DivisionByZero):
        cursor.execute("SELECT 1 / 0")
    connection.close()
    assert pglite.value("SELECT 3") == 3


def test_ssl_is_not_spoken(pglite):
    with pytest.raises(psycopg2.OperationalError, match="invalid response to SSL negotiation"):
        psycopg2.connect(host="127.0.0.1", port=pglite.port, user="postgres", password="x", sslmode="require")
    assert pglite.login["ssl_mode"] == "disable"
    assert pglite.value("SELECT 4") == 4


# ---------------------------------------------------------------- policies and jobs


def test_retention_policy_alter_job_and_run_job(pglite, metrics):
    job = pglite.value(f"SELECT add_retention_policy('{metrics}', drop_after => interval '90 days')")
    assert jobs(pglite, metrics) == [
        (job, "policy_retention", {"drop_after": "90 days", "hypertable_id": hypertable_id(pglite, metrics)})
    ]
    columns, rows = view_rows(pglite, "jobs", "job_id = %s", (job,))
    show(f"timescaledb_information.jobs, retention policy {columns}", rows)

    pglite.sql(
        f"SELECT alter_job({job}, schedule_interval => interval '2 hours',"
        " config => jsonb_set(config, '{drop_after}', '\"20 days\"'))"
        f" FROM timescaledb_information.jobs WHERE job_id = {job}"
    )
    assert pglite.sql(
        f"SELECT schedule_interval, config->>'drop_after' FROM timescaledb_information.jobs WHERE job_id = {job}"
    ) == [(timedelta(hours=2), "20 days")]

    chunks_before = pglite.value(
        f"SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = '{metrics}'"
    )
    # No background workers: the policy runs only when asked to.
    pglite.sql(f"CALL run_job({job})")
    chunks_after = pglite.value(
        f"SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = '{metrics}'"
    )
    oldest = pglite.value(f"SELECT min(time) FROM {metrics}")
    print(f"\nretention run_job: {chunks_before} chunks before, {chunks_after} after, oldest row {oldest}")
    assert chunks_after < chunks_before
    assert oldest > datetime.now(timezone.utc) - timedelta(days=21)

    pglite.sql(f"SELECT remove_retention_policy('{metrics}')")
    assert [row for row in jobs(pglite, metrics) if row[1] == "policy_retention"] == []


def test_columnstore_policy_compresses_chunks(pglite, metrics):
    pglite.sql(
        f"ALTER TABLE {metrics} SET (timescaledb.enable_columnstore, timescaledb.segmentby = 'sensor_id',"
        " timescaledb.orderby = 'time DESC')"
    )
    # A procedure since 2.18: CALL, and no job id returned.
    assert pglite.sql(f"CALL add_columnstore_policy('{metrics}', after => interval '7 days')") == "CALL"
    job = job_id(pglite, metrics, "policy_compression")

    columns, rows = view_rows(pglite, "jobs", "job_id = %s", (job,))
    show(f"timescaledb_information.jobs, columnstore policy {columns}", rows)
    job_row = dict(zip(columns, rows[0]))
    assert job_row["application_name"] == f"Columnstore Policy [{job}]"
    assert job_row["config"]["compress_after"] == "7 days"
    assert job_row["schedule_interval"] == timedelta(hours=12)

    columns, rows = view_rows(pglite, "compression_settings", "hypertable_name = %s", (metrics,))
    show(f"timescaledb_information.compression_settings {columns}", rows)
    assert columns == [
        "hypertable_schema",
        "hypertable_name",
        "attname",
        "segmentby_column_index",
        "orderby_column_index",
        "orderby_asc",
        "orderby_nullsfirst",
    ]
    assert sorted(rows) == [
        ("public", metrics, "sensor_id", 1, None, None, None),
        ("public", metrics, "time", None, 1, False, True),
    ]

    columns, rows = view_rows(pglite, "hypertable_columnstore_settings", "hypertable = %s::regclass", (metrics,))
    show(f"timescaledb_information.hypertable_columnstore_settings {columns}", rows)
    assert columns == ["hypertable", "segmentby", "orderby", "compress_interval_length", "index"]
    assert [row[:3] for row in rows] == [(metrics, "sensor_id", '"time" DESC')]

    def compressed() -> int:
        return pglite.value(
            "SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = %s AND is_compressed",
            (metrics,),
        )

    assert compressed() == 0
    pglite.sql(f"CALL run_job({job})")
    after = compressed()
    total = pglite.value("SELECT count(*) FROM timescaledb_information.chunks WHERE hypertable_name = %s", (metrics,))
    print(f"\ncolumnstore run_job: {after} of {total} chunks compressed")
    assert after > 0
    # Only chunks entirely older than 7 days: the newest ones stay in the rowstore.
    assert pglite.value(
        "SELECT bool_and(range_end <= now() - interval '7 days') FROM timescaledb_information.chunks"
        " WHERE hypertable_name = %s AND is_compressed",
        (metrics,),
    )
    assert pglite.value(f"SELECT count(*) FROM {metrics}") > 0

    columns, rows = view_rows(pglite, "chunk_columnstore_settings", "hypertable = %s::regclass", (metrics,))
    show(f"timescaledb_information.chunk_columnstore_settings {columns} (first 2 of {len(rows)})", rows[:2])
    assert columns == ["hypertable", "chunk", "segmentby", "orderby", "index"]
    assert len(rows) == after
    assert {row[2:4] for row in rows} == {("sensor_id", '"time" DESC')}

    stats = pglite.sql(f"SELECT total_chunks, number_compressed_chunks FROM hypertable_columnstore_stats('{metrics}')")
    assert stats == [(total, after)]

    # alter_job on the columnstore job.
    pglite.sql(f"SELECT alter_job({job}, scheduled => false)")
    assert pglite.value(f"SELECT scheduled FROM timescaledb_information.jobs WHERE job_id = {job}") is False

    with pytest.raises(psycopg2.errors.DuplicateObject, match="columnstore policy already exists"):
        pglite.sql(f"CALL add_columnstore_policy('{metrics}', after => interval '1 day')")


def test_deprecated_add_compression_policy_still_works(pglite):
    hypertable(pglite, "pe_legacy")
    pglite.sql("ALTER TABLE pe_legacy SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor_id')")
    job = pglite.value("SELECT add_compression_policy('pe_legacy', compress_after => interval '7 days')")
    assert isinstance(job, int)
    # The old name makes the same job as add_columnstore_policy.
    assert jobs(pglite, "pe_legacy") == [
        (job, "policy_compression", {"hypertable_id": hypertable_id(pglite, "pe_legacy"), "compress_after": "7 days"})
    ]
    assert pglite.value("SELECT remove_compression_policy('pe_legacy')") is True
    assert jobs(pglite, "pe_legacy") == []


# ---------------------------------------------------------------- continuous aggregates


def test_continuous_aggregate_is_a_view_and_refreshes(pglite, metrics, hourly):
    assert pglite.value(f"SELECT count(*) FROM {hourly}") == 0
    # To PostgreSQL a continuous aggregate is a view.
    assert pglite.value(f"SELECT relkind FROM pg_class WHERE oid = '{hourly}'::regclass") == "v"
    assert pglite.sql(f"COMMENT ON VIEW {hourly} IS 'hourly means'") == "COMMENT"
    assert pglite.value(f"SELECT obj_description('{hourly}'::regclass, 'pg_class')") == "hourly means"
    with pytest.raises(psycopg2.errors.WrongObjectType) as refused:
        pglite.sql(f"COMMENT ON MATERIALIZED VIEW {hourly} IS 'hourly means'")
    print(f"\nCOMMENT ON MATERIALIZED VIEW: {refused.value.pgcode} {refused.value.pgerror.strip()}")
    assert refused.value.pgerror.startswith(f'ERROR:  "{hourly}" is not a materialized view')

    pglite.sql(f"CALL refresh_continuous_aggregate('{hourly}', NULL, NULL)")
    expected = pglite.value(f"SELECT count(DISTINCT (time_bucket('1 hour', time), sensor_id)) FROM {metrics}")
    assert pglite.value(f"SELECT count(*) FROM {hourly}") == expected > 0

    columns, rows = view_rows(pglite, "continuous_aggregates", "view_name = %s", (hourly,))
    show(f"timescaledb_information.continuous_aggregates {columns}", rows)
    cagg = dict(zip(columns, rows[0]))
    assert cagg["hypertable_name"] == metrics
    assert cagg["materialized_only"] is True

    job = pglite.value(
        f"SELECT add_continuous_aggregate_policy('{hourly}', start_offset => interval '3 days',"
        " end_offset => interval '1 hour', schedule_interval => interval '1 hour')"
    )
    pglite.sql(
        f"SELECT alter_job({job}, config => jsonb_set(config, '{{start_offset}}', '\"7 days\"'))"
        f" FROM timescaledb_information.jobs WHERE job_id = {job}"
    )
    config = pglite.value(f"SELECT config FROM timescaledb_information.jobs WHERE job_id = {job}")
    show("refresh policy config after alter_job", json.dumps(config, sort_keys=True))
    assert config["start_offset"] == "7 days"
    assert config["end_offset"] == "01:00:00"
    pglite.sql(f"CALL run_job({job})")


# ---------------------------------------------------------------- transactions


def test_create_hypertable_rolls_back(pglite):
    hypertables = "SELECT count(*) FROM timescaledb_information.hypertables"
    before = pglite.value(hypertables)
    with closing(pglite.connect()) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE TABLE pe_rollback (time timestamptz NOT NULL, value int)")
        cursor.execute("SELECT create_hypertable('pe_rollback', by_range('time'))")
        cursor.execute(hypertables)
        assert cursor.fetchone()[0] == before + 1
        connection.rollback()
    assert pglite.value(hypertables) == before
    assert pglite.value("SELECT to_regclass('pe_rollback')") is None


def test_continuous_aggregate_with_no_data_rolls_back(pglite, metrics):
    caggs = "SELECT count(*) FROM timescaledb_information.continuous_aggregates"
    catalog = "SELECT count(*) FROM _timescaledb_catalog.hypertable"
    before = (pglite.value(caggs), pglite.value(catalog))
    with closing(pglite.connect()) as connection, connection.cursor() as cursor:
        cursor.execute(
            "CREATE MATERIALIZED VIEW pe_daily WITH (timescaledb.continuous) AS"
            f" SELECT time_bucket('1 day', time) AS bucket, count(*) FROM {metrics} GROUP BY bucket WITH NO DATA"
        )
        cursor.execute("COMMENT ON VIEW pe_daily IS 'daily'")
        cursor.execute(caggs)
        assert cursor.fetchone()[0] == before[0] + 1
        connection.rollback()
    assert (pglite.value(caggs), pglite.value(catalog)) == before
    assert pglite.value("SELECT to_regclass('pe_daily')") is None


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            "CREATE MATERIALIZED VIEW pe_with_data WITH (timescaledb.continuous) AS"
            f" SELECT time_bucket('1 day', time) AS bucket, count(*) FROM {METRICS} GROUP BY bucket",
            "CREATE MATERIALIZED VIEW ... WITH DATA cannot run inside a transaction block",
        ),
        (
            f"CALL refresh_continuous_aggregate('{HOURLY}', NULL, NULL)",
            "refresh_continuous_aggregate() cannot run inside a transaction block",
        ),
    ],
    ids=["cagg-with-data", "refresh"],
)
def test_what_refuses_a_transaction_block(pglite, hourly, statement, message):
    with closing(pglite.connect()) as connection, connection.cursor() as cursor:
        with pytest.raises(psycopg2.errors.ActiveSqlTransaction) as refused:
            cursor.execute(statement)
        connection.rollback()
    assert refused.value.pgerror.strip() == f"ERROR:  {message}"
