"""The monitoring role's TimescaleDB collector against the community edition, for real.

TimescaleDB 2.23 community edition in PGlite (see tests/support/pglite.py): a hypertable
with a retention and a columnstore policy, a continuous aggregate with a refresh policy,
each job run once with `CALL run_job()`, then the collector's own SQL (read_database) and
its whole command line. What this engine cannot show, and the unit tests pin instead:

- job statistics written by the scheduler: PGlite has no background workers and
  `run_job` records nothing in job_stats, so every job reads as never run here. One test
  writes a bgw_job_stat row by hand, with the values TimescaleDB's scheduler writes
  (src/bgw/job_stat.c), to check what the views make of it;
- a running job (last_run_status NULL, next_start -infinity while it runs), crashes, and
  the telemetry job (this build has none);
- several databases (PGlite serves one: every database name lands in template1), a
  database that refuses, TLS, and the Unix socket default;
- the Apache edition (Debian's 2.19): the role's Molecule scenario reads that.
"""

from __future__ import annotations

import importlib.util
from contextlib import closing
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[3] / "roles" / "monitoring" / "files" / "timescaledb_metrics.py"
_spec = importlib.util.spec_from_file_location("timescaledb_metrics", PROGRAM)
collector = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(collector)

SCHEMA = "collector_it"
TABLE = f"{SCHEMA}.conditions"
VIEW = f"{SCHEMA}.conditions_hourly"
DAYS_OF_DATA = 10


def read(pglite, role=None):
    """The collector's reading, as the superuser or, with `role`, as that role."""
    with closing(pglite.connect()) as connection:
        try:
            if role:
                with connection.cursor() as cursor:
                    cursor.execute(f"SET ROLE {role}")
            return collector.read_database(connection)
        finally:
            connection.rollback()


def ours(reading):
    """The reading without the objects other test modules left in the shared engine."""
    return dict(
        reading,
        jobs=[job for job in reading["jobs"] if job["hypertable_schema"] == SCHEMA or job["job_id"] == 3],
        hypertables=[row for row in reading["hypertables"] if row["hypertable_schema"] == SCHEMA],
        continuous_aggregates=[row for row in reading["continuous_aggregates"] if row["view_schema"] == SCHEMA],
    )


def series(reading, prefix=""):
    """{name{labels}: value} of the sample lines the collector writes for database 'tsdb'."""
    lines = collector.metrics_text([("tsdb", ours(reading))]).splitlines()
    return {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if not line.startswith("#") and line.startswith(prefix)
    }


def job_ids(pglite):
    return dict(
        pglite.sql("SELECT proc_name, job_id FROM timescaledb_information.jobs WHERE hypertable_schema = %s", (SCHEMA,))
    )


@pytest.fixture(scope="module")
def monitored(pglite):
    """Hourly rows for DAYS_OF_DATA days in 1-day chunks; retention after 7 days, columnstore
    after 2 days, an hourly aggregate (created WITH NO DATA) refreshed over the last 3 days."""
    pglite.sql(f"CREATE SCHEMA {SCHEMA}")
    pglite.sql(f"CREATE TABLE {TABLE} (time timestamptz NOT NULL, sensor_id integer NOT NULL, value float8)")
    pglite.sql(f"SELECT create_hypertable('{TABLE}', by_range('time', interval '1 day'))")
    pglite.sql(
        f"INSERT INTO {TABLE} SELECT now() - g * interval '1 hour', g % 3, g"
        f" FROM generate_series(1, 24 * {DAYS_OF_DATA}) g"
    )
    pglite.sql(f"ALTER TABLE {TABLE} SET (timescaledb.enable_columnstore, timescaledb.segmentby = 'sensor_id')")
    pglite.sql(f"SELECT add_retention_policy('{TABLE}', drop_after => interval '7 days')")
    pglite.sql(f"CALL add_columnstore_policy('{TABLE}', after => interval '2 days')")
    pglite.sql(
        f"CREATE MATERIALIZED VIEW {VIEW} WITH (timescaledb.continuous) AS"
        f" SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) FROM {TABLE}"
        " GROUP BY bucket, sensor_id WITH NO DATA"
    )
    pglite.sql(
        f"SELECT add_continuous_aggregate_policy('{VIEW}', start_offset => interval '3 days',"
        " end_offset => interval '1 hour', schedule_interval => interval '1 hour')"
    )
    yield pglite
    pglite.sql(f"DROP MATERIALIZED VIEW IF EXISTS {VIEW} CASCADE")
    pglite.sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    pglite.sql("DROP ROLE IF EXISTS collector_it_monitor")


@pytest.fixture(scope="module")
def before_and_after(monitored):
    """The reading before any job ran, then after each policy ran once."""
    before = read(monitored)
    jobs = job_ids(monitored)
    for proc_name in ("policy_retention", "policy_compression", "policy_refresh_continuous_aggregate"):
        monitored.sql(f"CALL run_job({jobs[proc_name]})")
    return before, read(monitored)


def test_the_database_reads_as_the_community_edition(before_and_after):
    after = before_and_after[1]
    assert after["extension"]["license"] == "timescale"
    assert after["extension"]["version"].startswith("2.23.")
    assert series(after, "mantis_timescaledb_info") == {
        'mantis_timescaledb_info{database="tsdb",version="%s",license="timescale"}' % after["extension"]["version"]: 1
    }


def test_each_policy_is_a_job_with_its_type_and_the_aggregate_named_for_its_refresh(monitored, before_and_after):
    after = before_and_after[1]
    jobs = job_ids(monitored)
    scheduled = series(after, "mantis_timescaledb_job_scheduled")
    assert scheduled == {
        'mantis_timescaledb_job_scheduled{database="tsdb",job_id="3",job_type="other",'
        'proc_name="policy_job_stat_history_retention",hypertable=""}': 1,
        'mantis_timescaledb_job_scheduled{database="tsdb",job_id="%d",job_type="retention",'
        'proc_name="policy_retention",hypertable="%s"}' % (jobs["policy_retention"], TABLE): 1,
        'mantis_timescaledb_job_scheduled{database="tsdb",job_id="%d",job_type="columnstore",'
        'proc_name="policy_compression",hypertable="%s"}' % (jobs["policy_compression"], TABLE): 1,
        'mantis_timescaledb_job_scheduled{database="tsdb",job_id="%d",job_type="refresh",'
        'proc_name="policy_refresh_continuous_aggregate",hypertable="%s"}'
        % (jobs["policy_refresh_continuous_aggregate"], VIEW): 1,
    }
    intervals = series(after, "mantis_timescaledb_job_schedule_interval_seconds")
    assert sorted(intervals.values()) == [3600, 12 * 3600, 24 * 3600, 24 * 3600]


def test_run_job_records_no_statistics_so_the_jobs_read_as_never_run(before_and_after):
    # The limit of this engine, pinned: on a real server the scheduler fills job_stats.
    after = before_and_after[1]
    runs = series(after, "mantis_timescaledb_job_runs_total")
    assert len(runs) == 4
    assert set(runs.values()) == {0}
    for absent in ("last_run_success", "last_success_timestamp", "seconds_since_last_success", "next_start"):
        assert series(after, "mantis_timescaledb_job_" + absent) == {}


def test_the_policies_show_in_chunks_compressed_share_and_size(before_and_after):
    before, after = before_and_after
    label = '{database="tsdb",hypertable="%s"}' % TABLE
    assert series(before, "mantis_timescaledb_hypertable_chunks" + label) in (
        {"mantis_timescaledb_hypertable_chunks" + label: DAYS_OF_DATA},
        {"mantis_timescaledb_hypertable_chunks" + label: DAYS_OF_DATA + 1},
    )
    assert series(before, "mantis_timescaledb_hypertable_compressed_share") == {
        "mantis_timescaledb_hypertable_compressed_share" + label: 0
    }
    hypertable = series(after, "mantis_timescaledb_hypertable_")
    chunks = hypertable["mantis_timescaledb_hypertable_chunks" + label]
    compressed = hypertable["mantis_timescaledb_hypertable_compressed_chunks" + label]
    # Retention dropped the chunks older than 7 days, the columnstore took those older than 2.
    assert chunks in (7, 8)
    assert compressed in (5, 6)
    assert hypertable["mantis_timescaledb_hypertable_compressed_share" + label] == round(compressed / chunks, 6)
    assert hypertable["mantis_timescaledb_hypertable_size_bytes" + label] > 0


def test_the_watermark_lag_is_enormous_before_the_first_refresh_and_small_after(before_and_after):
    before, after = before_and_after
    name = 'mantis_timescaledb_continuous_aggregate_watermark_lag_seconds{database="tsdb",view="%s"}' % VIEW
    # Never refreshed: the watermark is TimescaleDB's smallest time, 4714 BC.
    assert series(before, "mantis_timescaledb_continuous_aggregate")[name] > 2e11
    # Refreshed up to now - 1 hour (end_offset), in whole buckets: the newest row is an hour old.
    assert 3600 <= series(after, "mantis_timescaledb_continuous_aggregate")[name] <= 3 * 3600


def test_a_failing_job_as_the_scheduler_records_it(monitored, before_and_after):
    """A bgw_job_stat row written as src/bgw/job_stat.c writes it after three failed runs that
    followed two successes; and a paused job."""
    jobs = job_ids(monitored)
    retention, columnstore = jobs["policy_retention"], jobs["policy_compression"]
    monitored.sql(
        "INSERT INTO _timescaledb_internal.bgw_job_stat VALUES"
        " (%s, now() - interval '10 min', now() - interval '9 min', now() + interval '50 min',"
        " now() - interval '4 days', false, 5, interval '20 s', interval '1 min', 2, 3, 0, 3, 0, 0)",
        (retention,),
    )
    monitored.sql(
        "INSERT INTO _timescaledb_internal.bgw_job_stat VALUES"
        " (%s, now() - interval '1 h', now() - interval '59 min', now() + interval '11 h',"
        " now() - interval '59 min', true, 1, interval '1 min', interval '0', 1, 0, 0, 0, 0, 0)",
        (columnstore,),
    )
    monitored.sql(f"SELECT alter_job({columnstore}, scheduled => false)")
    try:
        reading = read(monitored)
    finally:
        monitored.sql(f"SELECT alter_job({columnstore}, scheduled => true)")
        monitored.sql(
            "DELETE FROM _timescaledb_internal.bgw_job_stat WHERE job_id IN (%s, %s)", (retention, columnstore)
        )
    failing = '{database="tsdb",job_id="%d",job_type="retention",proc_name="policy_retention",hypertable="%s"}' % (
        retention,
        TABLE,
    )
    paused = '{database="tsdb",job_id="%d",job_type="columnstore",proc_name="policy_compression",hypertable="%s"}' % (
        columnstore,
        TABLE,
    )
    values = series(reading, "mantis_timescaledb_job_")
    assert values["mantis_timescaledb_job_last_run_success" + failing] == 0
    assert values["mantis_timescaledb_job_consecutive_failures" + failing] == 3
    assert values["mantis_timescaledb_job_runs_total" + failing] == 5
    assert values["mantis_timescaledb_job_failures_total" + failing] == 3
    assert 4 * 86400 - 5 <= values["mantis_timescaledb_job_seconds_since_last_success" + failing] <= 4 * 86400 + 5
    now = reading["extension"]["now"]
    assert 2990 <= values["mantis_timescaledb_job_next_start_timestamp_seconds" + failing] - now <= 3010
    assert values["mantis_timescaledb_job_scheduled" + paused] == 0
    assert values["mantis_timescaledb_job_last_run_success" + paused] == 1
    assert "mantis_timescaledb_job_next_start_timestamp_seconds" + paused not in values


def test_a_job_that_never_succeeded_has_no_last_success(monitored, before_and_after):
    retention = job_ids(monitored)["policy_retention"]
    # Failed on its first run: last_successful_finish stays '-infinity', as the scheduler leaves it.
    monitored.sql(
        "INSERT INTO _timescaledb_internal.bgw_job_stat VALUES"
        " (%s, now() - interval '10 min', now() - interval '9 min', now() + interval '50 min',"
        " '-infinity', false, 1, interval '0', interval '1 min', 0, 1, 0, 1, 0, 0)",
        (retention,),
    )
    try:
        reading = read(monitored)
    finally:
        monitored.sql("DELETE FROM _timescaledb_internal.bgw_job_stat WHERE job_id = %s", (retention,))
    job = next(job for job in reading["jobs"] if job["job_id"] == retention)
    assert (job["last_run_status"], job["last_successful_finish"], job["consecutive_failures"]) == ("Failed", None, 1)


def test_a_role_with_only_pg_monitor_reads_the_same_but_may_not_call_cagg_watermark(monitored, before_and_after):
    monitored.sql("DROP ROLE IF EXISTS collector_it_monitor")
    monitored.sql("CREATE ROLE collector_it_monitor LOGIN IN ROLE pg_monitor")
    # No USAGE on the schema, no SELECT on the tables or the aggregate: the same series.
    as_monitor = series(read(monitored, role="collector_it_monitor"))
    as_owner = series(read(monitored))
    assert as_monitor.keys() == as_owner.keys()
    moving = [name for name in as_owner if "watermark_lag" in name]
    assert moving
    assert {name: value for name, value in as_monitor.items() if name not in moving} == {
        name: value for name, value in as_owner.items() if name not in moving
    }
    with closing(monitored.connect()) as connection, connection.cursor() as cursor:
        cursor.execute("SET ROLE collector_it_monitor")
        cursor.execute(
            "SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg WHERE user_view_schema = %s", (SCHEMA,)
        )
        (mat_hypertable_id,) = cursor.fetchone()
        with pytest.raises(Exception, match="permission denied for materialized view conditions_hourly"):
            cursor.execute("SELECT _timescaledb_functions.cagg_watermark(%s)", (mat_hypertable_id,))
        connection.rollback()


def test_the_command_line_writes_the_file(monitored, before_and_after, tmp_path, monkeypatch):
    monkeypatch.setenv("PGSSLMODE", "disable")
    password_file = tmp_path / "password"
    password_file.write_text("pglite-any-password\n")
    output = tmp_path / "mantis_timescaledb.prom"
    status = collector.main(
        [
            "--output",
            str(output),
            "--database",
            "tsdb",
            "--host",
            "127.0.0.1",
            "--port",
            str(monitored.port),
            "--user",
            "postgres",
            "--password-file",
            str(password_file),
        ]
    )
    assert status == 0
    text = output.read_text()
    assert 'mantis_timescaledb_up{database="tsdb"} 1\n' in text
    assert 'mantis_timescaledb_hypertable_chunks{database="tsdb",hypertable="%s"}' % TABLE in text
