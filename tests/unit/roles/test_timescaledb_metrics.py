"""The monitoring role's TimescaleDB collector (roles/monitoring/files/timescaledb_metrics.py), without a server.

The rows are shaped as the program's queries return them from the community edition
(column names of its SQL, values as psycopg2 gives them: job_stats' 'Success'/'Failed',
NULL for a job that never ran, epoch seconds as floats). A failing job cannot be produced
on the servers the project tests against (Debian's Apache edition refuses add_job, PGlite
has no scheduler and `run_job` records no statistics), so the mapping is pinned here.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import psycopg2
import pytest

PROGRAM = Path(__file__).resolve().parents[3] / "roles" / "monitoring" / "files" / "timescaledb_metrics.py"
_spec = importlib.util.spec_from_file_location("timescaledb_metrics", PROGRAM)
metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(metrics)

NOW = 1796300000.0
HOUR = 3600.0
DAY = 24 * HOUR


def job(job_id, proc_name, hypertable=(None, None), **stats):
    """A row of JOBS_SQL; without `stats`, a job that never ran (job_stats and bgw_job_stat have no row)."""
    row = {
        "job_id": job_id,
        "proc_schema": "_timescaledb_functions",
        "proc_name": proc_name,
        "hypertable_schema": hypertable[0],
        "hypertable_name": hypertable[1],
        "scheduled": True,
        "schedule_interval": DAY,
        "last_run_status": None,
        "last_successful_finish": None,
        "next_start": None,
        "total_runs": None,
        "total_failures": None,
        "consecutive_failures": None,
    }
    row.update(stats)
    return row


# Retention on public.conditions: succeeded twice, then failed the last three nights.
FAILING_RETENTION = job(
    1000,
    "policy_retention",
    ("public", "conditions"),
    last_run_status="Failed",
    last_successful_finish=NOW - 4 * DAY + 12.5,
    next_start=NOW + 6 * HOUR,
    total_runs=5,
    total_failures=3,
    consecutive_failures=3,
)
COLUMNSTORE_NEVER_RUN = job(1001, "policy_compression", ("public", "conditions"), schedule_interval=12 * HOUR)
# The refresh job of a continuous aggregate is named after the aggregate's view.
REFRESH = job(
    1002,
    "policy_refresh_continuous_aggregate",
    ("public", "conditions_hourly"),
    schedule_interval=HOUR,
    last_run_status="Success",
    last_successful_finish=NOW - 600,
    next_start=NOW + 3000,
    total_runs=120,
    total_failures=1,
    consecutive_failures=0,
)
# Paused with alter_job(scheduled => false) after a success: job_stats shows no next_start.
PAUSED_RETENTION = job(
    1003,
    "policy_retention",
    ("metrics", "plant_readings"),
    scheduled=False,
    last_run_status="Success",
    last_successful_finish=NOW - 2 * DAY,
    total_runs=9,
    total_failures=0,
    consecutive_failures=0,
)
# TimescaleDB's own job, on every edition.
JOB_HISTORY_RETENTION = job(
    3,
    "policy_job_stat_history_retention",
    schedule_interval=6 * HOUR,
    last_run_status="Success",
    last_successful_finish=NOW - HOUR,
    next_start=NOW + 5 * HOUR,
    total_runs=40,
    total_failures=0,
    consecutive_failures=0,
)
TELEMETRY = job(
    1,
    "policy_telemetry",
    last_run_status="Success",
    last_successful_finish=NOW - 3 * HOUR,
    next_start=NOW + 21 * HOUR,
    total_runs=30,
    total_failures=2,
    consecutive_failures=0,
)

COMMUNITY = {
    "extension": {"version": "2.23.1", "license": "timescale", "extension_schema": "public", "now": NOW},
    "jobs": [JOB_HISTORY_RETENTION, FAILING_RETENTION, COLUMNSTORE_NEVER_RUN, REFRESH, PAUSED_RETENTION],
    "hypertables": [
        {
            "hypertable_schema": "public",
            "hypertable_name": "conditions",
            "size_bytes": 1843200,
            "chunks": 8,
            "compressed_chunks": 6,
        },
        {
            "hypertable_schema": "metrics",
            "hypertable_name": "plant_readings",
            "size_bytes": 24576,
            "chunks": 0,
            "compressed_chunks": 0,
        },
    ],
    "continuous_aggregates": [{"view_schema": "public", "view_name": "conditions_hourly", "watermark_lag": 4883.722}],
}

APACHE = {
    "extension": {"version": "2.19.3", "license": "apache", "extension_schema": "public", "now": NOW},
    "jobs": [TELEMETRY, JOB_HISTORY_RETENTION],
    "hypertables": [
        {
            "hypertable_schema": "public",
            "hypertable_name": "conditions",
            "size_bytes": 81920,
            "chunks": 3,
            "compressed_chunks": 0,
        }
    ],
    "continuous_aggregates": [],
}


def job_labels(database, job_id, job_type, proc_name, hypertable):
    return 'database="%s",job_id="%d",job_type="%s",proc_name="%s",hypertable="%s"' % (
        database,
        job_id,
        job_type,
        proc_name,
        hypertable,
    )


def lines_with(text, fragment):
    return [line for line in text.splitlines() if fragment in line]


def test_a_failing_retention_job_shows_its_failures_and_the_age_of_its_last_success():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    labels = job_labels("tsdb", 1000, "retention", "policy_retention", "public.conditions")
    assert lines_with(text, 'job_id="1000"') == [
        "mantis_timescaledb_job_scheduled{%s} 1" % labels,
        "mantis_timescaledb_job_last_run_success{%s} 0" % labels,
        "mantis_timescaledb_job_last_success_timestamp_seconds{%s} 1795954412.5" % labels,
        "mantis_timescaledb_job_seconds_since_last_success{%s} 345587.5" % labels,
        "mantis_timescaledb_job_consecutive_failures{%s} 3" % labels,
        "mantis_timescaledb_job_runs_total{%s} 5" % labels,
        "mantis_timescaledb_job_failures_total{%s} 3" % labels,
        "mantis_timescaledb_job_next_start_timestamp_seconds{%s} 1796321600" % labels,
        "mantis_timescaledb_job_schedule_interval_seconds{%s} 86400" % labels,
    ]


def test_a_job_that_never_ran_has_no_status_no_success_and_no_next_start():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    labels = job_labels("tsdb", 1001, "columnstore", "policy_compression", "public.conditions")
    assert lines_with(text, 'job_id="1001"') == [
        "mantis_timescaledb_job_scheduled{%s} 1" % labels,
        "mantis_timescaledb_job_consecutive_failures{%s} 0" % labels,
        "mantis_timescaledb_job_runs_total{%s} 0" % labels,
        "mantis_timescaledb_job_failures_total{%s} 0" % labels,
        "mantis_timescaledb_job_schedule_interval_seconds{%s} 43200" % labels,
    ]


def test_a_paused_job_is_not_scheduled_and_has_no_next_start():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    labels = job_labels("tsdb", 1003, "retention", "policy_retention", "metrics.plant_readings")
    assert lines_with(text, 'job_id="1003"') == [
        "mantis_timescaledb_job_scheduled{%s} 0" % labels,
        "mantis_timescaledb_job_last_run_success{%s} 1" % labels,
        "mantis_timescaledb_job_last_success_timestamp_seconds{%s} 1796127200" % labels,
        "mantis_timescaledb_job_seconds_since_last_success{%s} 172800" % labels,
        "mantis_timescaledb_job_consecutive_failures{%s} 0" % labels,
        "mantis_timescaledb_job_runs_total{%s} 9" % labels,
        "mantis_timescaledb_job_failures_total{%s} 0" % labels,
        "mantis_timescaledb_job_schedule_interval_seconds{%s} 86400" % labels,
    ]


def test_a_paused_job_has_no_next_start_even_when_a_row_carries_one():
    paused = dict(PAUSED_RETENTION, next_start=NOW + HOUR)
    text = metrics.metrics_text([("tsdb", dict(COMMUNITY, jobs=[paused]))])
    assert lines_with(text, "next_start") == []


def test_the_refresh_job_of_a_continuous_aggregate_is_labelled_with_the_view():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    labels = job_labels("tsdb", 1002, "refresh", "policy_refresh_continuous_aggregate", "public.conditions_hourly")
    assert lines_with(text, 'job_id="1002"')[:2] == [
        "mantis_timescaledb_job_scheduled{%s} 1" % labels,
        "mantis_timescaledb_job_last_run_success{%s} 1" % labels,
    ]
    assert "mantis_timescaledb_job_failures_total{%s} 1" % labels in text.splitlines()


@pytest.mark.parametrize(
    "proc_name, job_type",
    [
        ("policy_retention", "retention"),
        ("policy_compression", "columnstore"),
        ("policy_columnstore", "columnstore"),
        ("policy_refresh_continuous_aggregate", "refresh"),
        # TimescaleDB's own retention of its job history is not a data retention policy.
        ("policy_job_stat_history_retention", "other"),
        ("policy_telemetry", "other"),
        ("policy_reorder", "other"),
        ("my_custom_job", "other"),
    ],
)
def test_job_types_are_mapped_from_the_procedure_name(proc_name, job_type):
    assert metrics.job_type(proc_name) == job_type


def test_hypertables_show_size_chunks_and_compressed_share_and_zero_share_without_chunks():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    assert lines_with(text, "mantis_timescaledb_hypertable_") == [
        "# HELP mantis_timescaledb_hypertable_size_bytes hypertable_size(): chunks and indexes included.",
        "# TYPE mantis_timescaledb_hypertable_size_bytes gauge",
        'mantis_timescaledb_hypertable_size_bytes{database="tsdb",hypertable="public.conditions"} 1843200',
        'mantis_timescaledb_hypertable_size_bytes{database="tsdb",hypertable="metrics.plant_readings"} 24576',
        "# HELP mantis_timescaledb_hypertable_chunks Chunks of the hypertable.",
        "# TYPE mantis_timescaledb_hypertable_chunks gauge",
        'mantis_timescaledb_hypertable_chunks{database="tsdb",hypertable="public.conditions"} 8',
        'mantis_timescaledb_hypertable_chunks{database="tsdb",hypertable="metrics.plant_readings"} 0',
        "# HELP mantis_timescaledb_hypertable_compressed_chunks Chunks of the hypertable in the columnstore.",
        "# TYPE mantis_timescaledb_hypertable_compressed_chunks gauge",
        'mantis_timescaledb_hypertable_compressed_chunks{database="tsdb",hypertable="public.conditions"} 6',
        'mantis_timescaledb_hypertable_compressed_chunks{database="tsdb",hypertable="metrics.plant_readings"} 0',
        "# HELP mantis_timescaledb_hypertable_compressed_share Compressed chunks divided by chunks (0 without chunks).",
        "# TYPE mantis_timescaledb_hypertable_compressed_share gauge",
        'mantis_timescaledb_hypertable_compressed_share{database="tsdb",hypertable="public.conditions"} 0.75',
        'mantis_timescaledb_hypertable_compressed_share{database="tsdb",hypertable="metrics.plant_readings"} 0',
    ]


def test_continuous_aggregates_show_their_watermark_lag():
    text = metrics.metrics_text([("tsdb", COMMUNITY)])
    assert lines_with(text, 'view="') == [
        'mantis_timescaledb_continuous_aggregate_watermark_lag_seconds{database="tsdb",view="public.conditions_hourly"}'
        " 4883.722"
    ]


def test_the_apache_edition_gives_info_up_hypertables_and_its_own_jobs():
    text = metrics.metrics_text([("sensors", APACHE)])
    telemetry = job_labels("sensors", 1, "other", "policy_telemetry", "")
    history = job_labels("sensors", 3, "other", "policy_job_stat_history_retention", "")
    table = 'database="sensors",hypertable="public.conditions"'
    assert text.splitlines() == [
        "# HELP mantis_timescaledb_up 1 when the database's TimescaleDB catalog was read, 0 when it failed.",
        "# TYPE mantis_timescaledb_up gauge",
        'mantis_timescaledb_up{database="sensors"} 1',
        "# HELP mantis_timescaledb_info TimescaleDB extension version and license (apache or timescale).",
        "# TYPE mantis_timescaledb_info gauge",
        'mantis_timescaledb_info{database="sensors",version="2.19.3",license="apache"} 1',
        "# HELP mantis_timescaledb_job_scheduled 1 when the job is scheduled, 0 when it is paused.",
        "# TYPE mantis_timescaledb_job_scheduled gauge",
        "mantis_timescaledb_job_scheduled{%s} 1" % telemetry,
        "mantis_timescaledb_job_scheduled{%s} 1" % history,
        "# HELP mantis_timescaledb_job_last_run_success 1 when the job's last finished run succeeded,"
        " 0 when it failed; absent when it never finished a run.",
        "# TYPE mantis_timescaledb_job_last_run_success gauge",
        "mantis_timescaledb_job_last_run_success{%s} 1" % telemetry,
        "mantis_timescaledb_job_last_run_success{%s} 1" % history,
        "# HELP mantis_timescaledb_job_last_success_timestamp_seconds End of the job's last successful run;"
        " absent when it never succeeded.",
        "# TYPE mantis_timescaledb_job_last_success_timestamp_seconds gauge",
        "mantis_timescaledb_job_last_success_timestamp_seconds{%s} 1796289200" % telemetry,
        "mantis_timescaledb_job_last_success_timestamp_seconds{%s} 1796296400" % history,
        "# HELP mantis_timescaledb_job_seconds_since_last_success Seconds from the job's last successful run"
        " to the reading; absent when it never succeeded.",
        "# TYPE mantis_timescaledb_job_seconds_since_last_success gauge",
        "mantis_timescaledb_job_seconds_since_last_success{%s} 10800" % telemetry,
        "mantis_timescaledb_job_seconds_since_last_success{%s} 3600" % history,
        "# HELP mantis_timescaledb_job_consecutive_failures Failed runs of the job since its last success.",
        "# TYPE mantis_timescaledb_job_consecutive_failures gauge",
        "mantis_timescaledb_job_consecutive_failures{%s} 0" % telemetry,
        "mantis_timescaledb_job_consecutive_failures{%s} 0" % history,
        "# HELP mantis_timescaledb_job_runs_total Runs of the job.",
        "# TYPE mantis_timescaledb_job_runs_total counter",
        "mantis_timescaledb_job_runs_total{%s} 30" % telemetry,
        "mantis_timescaledb_job_runs_total{%s} 40" % history,
        "# HELP mantis_timescaledb_job_failures_total Failed runs of the job.",
        "# TYPE mantis_timescaledb_job_failures_total counter",
        "mantis_timescaledb_job_failures_total{%s} 2" % telemetry,
        "mantis_timescaledb_job_failures_total{%s} 0" % history,
        "# HELP mantis_timescaledb_job_next_start_timestamp_seconds When the job runs next;"
        " absent when it is paused or not known (running, never scheduled).",
        "# TYPE mantis_timescaledb_job_next_start_timestamp_seconds gauge",
        "mantis_timescaledb_job_next_start_timestamp_seconds{%s} 1796375600" % telemetry,
        "mantis_timescaledb_job_next_start_timestamp_seconds{%s} 1796318000" % history,
        "# HELP mantis_timescaledb_job_schedule_interval_seconds The job's schedule interval.",
        "# TYPE mantis_timescaledb_job_schedule_interval_seconds gauge",
        "mantis_timescaledb_job_schedule_interval_seconds{%s} 86400" % telemetry,
        "mantis_timescaledb_job_schedule_interval_seconds{%s} 21600" % history,
        "# HELP mantis_timescaledb_hypertable_size_bytes hypertable_size(): chunks and indexes included.",
        "# TYPE mantis_timescaledb_hypertable_size_bytes gauge",
        "mantis_timescaledb_hypertable_size_bytes{%s} 81920" % table,
        "# HELP mantis_timescaledb_hypertable_chunks Chunks of the hypertable.",
        "# TYPE mantis_timescaledb_hypertable_chunks gauge",
        "mantis_timescaledb_hypertable_chunks{%s} 3" % table,
        "# HELP mantis_timescaledb_hypertable_compressed_chunks Chunks of the hypertable in the columnstore.",
        "# TYPE mantis_timescaledb_hypertable_compressed_chunks gauge",
        "mantis_timescaledb_hypertable_compressed_chunks{%s} 0" % table,
        "# HELP mantis_timescaledb_hypertable_compressed_share Compressed chunks divided by chunks (0 without chunks).",
        "# TYPE mantis_timescaledb_hypertable_compressed_share gauge",
        "mantis_timescaledb_hypertable_compressed_share{%s} 0" % table,
    ]


def test_a_database_that_failed_has_up_0_and_no_other_series_and_the_others_stay():
    text = metrics.metrics_text([("broken", None), ("sensors", APACHE)])
    assert lines_with(text, 'database="broken"') == ['mantis_timescaledb_up{database="broken"} 0']
    assert lines_with(text, "mantis_timescaledb_up{") == [
        'mantis_timescaledb_up{database="broken"} 0',
        'mantis_timescaledb_up{database="sensors"} 1',
    ]
    alone = metrics.metrics_text([("sensors", APACHE)])
    assert lines_with(text, 'database="sensors"') == [line for line in alone.splitlines() if not line.startswith("#")]


def test_names_are_escaped_in_label_values():
    # PostgreSQL identifiers may hold quotes, backslashes and newlines.
    odd = dict(COMMUNITY["hypertables"][0], hypertable_schema='we"ird', hypertable_name="back\\slash\nnewline")
    text = metrics.metrics_text([('db"1', dict(COMMUNITY, jobs=[], continuous_aggregates=[], hypertables=[odd]))])
    assert lines_with(text, "mantis_timescaledb_hypertable_chunks{") == [
        'mantis_timescaledb_hypertable_chunks{database="db\\"1",hypertable="we\\"ird.back\\\\slash\\nnewline"} 8'
    ]


class FakeCursor:
    """Answers the program's statements with canned rows; records what ran."""

    def __init__(self, answers, executed):
        self.answers = answers
        self.executed = executed
        self.description = None
        self.rows = []

    def execute(self, statement, params=None):
        self.executed.append(statement)
        if statement.startswith("SET LOCAL"):
            self.description, self.rows = None, []
            return
        rows = self.answers[statement.split()[1]]
        if isinstance(rows, Exception):
            raise rows
        columns = list(rows[0]) if rows else ["none"]
        self.description = [(column,) for column in columns]
        self.rows = [tuple(row[column] for column in columns) for row in rows]

    def fetchall(self):
        return self.rows

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


class FakeConnection:
    def __init__(self, reading=None, error=None):
        self.executed = []
        self.closed = False
        self.rolled_back = False
        if reading is None:
            self.answers = {}
        else:
            # Keyed by each statement's first selected column.
            self.answers = {
                "e.extversion": [reading["extension"]],
                "DISTINCT": reading["jobs"],
                "h.hypertable_schema,": reading["hypertables"],
                "ca.user_view_schema": reading["continuous_aggregates"] or error or [],
            }

    def cursor(self):
        return FakeCursor(self.answers, self.executed)

    def rollback(self):
        self.rolled_back = True

    def close(self):
        self.closed = True


def test_the_reading_returns_the_rows_of_each_query_by_column_name():
    connection = FakeConnection(COMMUNITY)
    assert metrics.read_database(connection) == COMMUNITY
    assert connection.executed[0] == "SET LOCAL statement_timeout = %s"
    assert '"public".hypertable_size(c.oid::regclass)' in connection.executed[3]


def test_the_apache_edition_is_not_asked_for_continuous_aggregates():
    # On the Apache edition the aggregate query would fail (no TSL); it must not run at all.
    connection = FakeConnection(APACHE, error=psycopg2.errors.FeatureNotSupported("functionality not supported"))
    assert metrics.read_database(connection) == APACHE
    assert not any("continuous_aggs_watermark" in statement for statement in connection.executed)


def test_a_database_without_the_extension_is_a_read_error():
    connection = FakeConnection({"extension": {}, "jobs": [], "hypertables": [], "continuous_aggregates": []})
    connection.answers["e.extversion"] = []
    with pytest.raises(metrics.ReadError, match="extension is not installed"):
        metrics.read_database(connection)


@pytest.fixture
def fake_server(monkeypatch):
    """connect() for databases 'tsdb' (community) and 'sensors' (apache); others refuse."""
    calls = []

    def connect(arguments, database, password):
        calls.append((database, password))
        if database == "tsdb":
            return FakeConnection(COMMUNITY)
        if database == "sensors":
            return FakeConnection(APACHE)
        raise psycopg2.OperationalError(
            'connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed:\n'
            'FATAL:  database "%s" does not exist\n' % database
        )

    monkeypatch.setattr(metrics, "connect", connect)
    return calls


def test_a_whole_run_writes_every_database_and_reads_the_password_from_its_file(tmp_path, fake_server, capsys):
    password_file = tmp_path / "password"
    password_file.write_text("s3cret-monitor\n")
    output = tmp_path / "mantis_timescaledb.prom"
    status = metrics.main(
        ["--output", str(output), "--database", "tsdb", "--database", "sensors", "--password-file", str(password_file)]
    )
    assert status == 0
    assert fake_server == [("tsdb", "s3cret-monitor"), ("sensors", "s3cret-monitor")]
    assert output.read_text() == metrics.metrics_text([("tsdb", COMMUNITY), ("sensors", APACHE)])
    assert sorted(os.listdir(tmp_path)) == ["mantis_timescaledb.prom", "password"]
    captured = capsys.readouterr()
    assert captured.out == captured.err == ""


def test_a_database_that_fails_gives_status_1_one_line_on_stderr_and_the_file_all_the_same(
    tmp_path, fake_server, capsys
):
    output = tmp_path / "mantis_timescaledb.prom"
    status = metrics.main(["--output", str(output), "--database", "gone", "--database", "tsdb"])
    assert status == 1
    assert output.read_text() == metrics.metrics_text([("gone", None), ("tsdb", COMMUNITY)])
    assert capsys.readouterr().err == (
        'mantis-timescaledb-metrics: gone: connection to server on socket "/var/run/postgresql/.s.PGSQL.5432" failed:'
        ' FATAL: database "gone" does not exist\n'
    )


def test_an_unreadable_password_file_fails_before_writing_and_keeps_the_previous_file(tmp_path, fake_server, capsys):
    output = tmp_path / "mantis_timescaledb.prom"
    output.write_text("previous\n")
    status = metrics.main(["--output", str(output), "--database", "tsdb", "--password-file", str(tmp_path / "missing")])
    assert status == 1
    assert fake_server == []
    assert output.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["mantis_timescaledb.prom"]
    assert capsys.readouterr().err.startswith("mantis-timescaledb-metrics: cannot read the password file:")


def test_an_output_directory_that_cannot_be_written_is_status_1(tmp_path, fake_server, capsys):
    status = metrics.main(["--output", str(tmp_path / "missing-dir" / "x.prom"), "--database", "tsdb"])
    assert status == 1
    assert capsys.readouterr().err.startswith(
        "mantis-timescaledb-metrics: cannot write %s: [Errno 2] No such file or directory"
        % (tmp_path / "missing-dir" / "x.prom")
    )


def test_the_host_defaults_to_the_socket_directory_when_it_exists(monkeypatch):
    monkeypatch.setattr(metrics.os.path, "isdir", lambda path: path == "/var/run/postgresql")
    assert metrics.parse_arguments(["--output", "x", "--database", "d"]).host == "/var/run/postgresql"
    monkeypatch.setattr(metrics.os.path, "isdir", lambda path: False)
    assert metrics.parse_arguments(["--output", "x", "--database", "d"]).host == "localhost"
