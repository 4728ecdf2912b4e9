# Copyright: mantis.datalayer contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the health of TimescaleDB's jobs, hypertables and continuous aggregates as Prometheus metrics.

Run with python3 by the monitoring role's systemd timer on a TimescaleDB host; the node
exporter's textfile collector serves the file it writes (--output, replaced atomically).
For each --database it reads, in one read-only transaction: the extension's version and
timescaledb.license; the jobs (timescaledb_information.jobs and job_stats, and the
consecutive failures from _timescaledb_internal.bgw_job_stat, which no view shows); each
hypertable's size, chunks and compressed chunks; and, on the community edition, each
continuous aggregate's watermark.

Privileges: TimescaleDB grants SELECT on its catalog schemas and information views to
PUBLIC, and hypertable_size() checks none, so any login role that may connect reads all of
this (pg_monitor adds the running state in job_stats, which is not used). Not readable
without more: _timescaledb_internal.bgw_job_stat_history (revoked from PUBLIC), and
_timescaledb_functions.cagg_watermark(), which wants SELECT on the aggregate itself; the
watermark is therefore read from the catalog table that function reads,
_timescaledb_catalog.continuous_aggs_watermark.

A database that cannot be read gives mantis_timescaledb_up{database=...} 0 and no other
series; the others are written all the same. The password is read from --password-file:
never on a command line, never printed. Exit status 0 when every database was read, else
1 with one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prometheus_textfile import Metric, Sample, one_line, render, write_and_report

PROGRAM = "mantis-timescaledb-metrics"
SOCKET_DIR = "/var/run/postgresql"
STATEMENT_TIMEOUT = "60s"

JOB_TYPES = {
    "policy_retention": "retention",
    "policy_compression": "columnstore",
    "policy_columnstore": "columnstore",
    "policy_refresh_continuous_aggregate": "refresh",
}
JOB_LABELS = ("database", "job_id", "job_type", "proc_name", "hypertable")

METRICS = [
    Metric("mantis_timescaledb_up", "gauge", "1 when the database's TimescaleDB catalog was read, 0 when it failed."),
    Metric("mantis_timescaledb_info", "gauge", "TimescaleDB extension version and license (apache or timescale)."),
    Metric("mantis_timescaledb_job_scheduled", "gauge", "1 when the job is scheduled, 0 when it is paused."),
    Metric(
        "mantis_timescaledb_job_last_run_success",
        "gauge",
        "1 when the job's last finished run succeeded, 0 when it failed; absent when it never finished a run.",
    ),
    Metric(
        "mantis_timescaledb_job_last_success_timestamp_seconds",
        "gauge",
        "End of the job's last successful run; absent when it never succeeded.",
    ),
    Metric(
        "mantis_timescaledb_job_seconds_since_last_success",
        "gauge",
        "Seconds from the job's last successful run to the reading; absent when it never succeeded.",
    ),
    Metric("mantis_timescaledb_job_consecutive_failures", "gauge", "Failed runs of the job since its last success."),
    Metric("mantis_timescaledb_job_runs_total", "counter", "Runs of the job."),
    Metric("mantis_timescaledb_job_failures_total", "counter", "Failed runs of the job."),
    Metric(
        "mantis_timescaledb_job_next_start_timestamp_seconds",
        "gauge",
        "When the job runs next; absent when it is paused or not known (running, never scheduled).",
    ),
    Metric("mantis_timescaledb_job_schedule_interval_seconds", "gauge", "The job's schedule interval."),
    Metric("mantis_timescaledb_hypertable_size_bytes", "gauge", "hypertable_size(): chunks and indexes included."),
    Metric("mantis_timescaledb_hypertable_chunks", "gauge", "Chunks of the hypertable."),
    Metric("mantis_timescaledb_hypertable_compressed_chunks", "gauge", "Chunks of the hypertable in the columnstore."),
    Metric(
        "mantis_timescaledb_hypertable_compressed_share",
        "gauge",
        "Compressed chunks divided by chunks (0 without chunks).",
    ),
    Metric(
        "mantis_timescaledb_continuous_aggregate_watermark_lag_seconds",
        "gauge",
        "Seconds from the end of the continuous aggregate's materialized data to the reading.",
    ),
]

EXTENSION_SQL = """
SELECT e.extversion AS version,
       current_setting('timescaledb.license', true) AS license,
       n.nspname AS extension_schema,
       extract(epoch FROM now())::float8 AS now
  FROM pg_extension e
  JOIN pg_namespace n ON n.oid = e.extnamespace
 WHERE e.extname = 'timescaledb'
"""

# job_stats shows '-infinity' for times that were never set: they become NULL here.
# Until 2.20 the jobs view names a continuous aggregate's refresh job after the aggregate's
# materialization hypertable: the two joins at the end put the aggregate's view in its place.
# job_stats joins pg_stat_activity by application name: DISTINCT ON keeps one row per job
# should two sessions share that name.
JOBS_SQL = """
SELECT DISTINCT ON (j.job_id)
       j.job_id,
       j.proc_schema,
       j.proc_name,
       COALESCE(ca.user_view_schema, j.hypertable_schema) AS hypertable_schema,
       COALESCE(ca.user_view_name, j.hypertable_name) AS hypertable_name,
       j.scheduled,
       extract(epoch FROM j.schedule_interval)::float8 AS schedule_interval,
       s.last_run_status,
       CASE WHEN isfinite(s.last_successful_finish)
            THEN extract(epoch FROM s.last_successful_finish)::float8 END AS last_successful_finish,
       CASE WHEN isfinite(s.next_start) THEN extract(epoch FROM s.next_start)::float8 END AS next_start,
       s.total_runs,
       s.total_failures,
       js.consecutive_failures
  FROM timescaledb_information.jobs j
  LEFT JOIN timescaledb_information.job_stats s ON s.job_id = j.job_id
  LEFT JOIN _timescaledb_internal.bgw_job_stat js ON js.job_id = j.job_id
  LEFT JOIN _timescaledb_catalog.hypertable mat
         ON mat.schema_name = j.hypertable_schema AND mat.table_name = j.hypertable_name
  LEFT JOIN _timescaledb_catalog.continuous_agg ca ON ca.mat_hypertable_id = mat.id
 ORDER BY j.job_id
"""

# hypertable_size() is given the table's oid: a name cast to regclass would need USAGE on
# the hypertable's schema, which a monitoring role may lack.
HYPERTABLES_SQL = """
SELECT h.hypertable_schema,
       h.hypertable_name,
       {extension_schema}.hypertable_size(c.oid::regclass) AS size_bytes,
       count(ch.chunk_name) AS chunks,
       count(ch.chunk_name) FILTER (WHERE ch.is_compressed) AS compressed_chunks
  FROM timescaledb_information.hypertables h
  JOIN pg_namespace n ON n.nspname = h.hypertable_schema
  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = h.hypertable_name
  LEFT JOIN timescaledb_information.chunks ch
         ON ch.hypertable_schema = h.hypertable_schema AND ch.hypertable_name = h.hypertable_name
 GROUP BY h.hypertable_schema, h.hypertable_name, c.oid
 ORDER BY h.hypertable_schema, h.hypertable_name
"""

# The value _timescaledb_functions.cagg_watermark(mat_hypertable_id) returns, read where it
# reads it (that function wants SELECT on the aggregate). An aggregate never refreshed has
# TimescaleDB's smallest time (4714 BC) as watermark: a lag of about 2.1e11 s. Aggregates on
# an integer time column have no lag in seconds; a timestamp without time zone is taken as UTC.
CONTINUOUS_AGGREGATES_SQL = """
SELECT ca.user_view_schema AS view_schema,
       ca.user_view_name AS view_name,
       extract(epoch FROM now())::float8
         - extract(epoch FROM _timescaledb_functions.to_timestamp(w.watermark))::float8 AS watermark_lag
  FROM _timescaledb_catalog.continuous_agg ca
  JOIN _timescaledb_catalog.continuous_aggs_watermark w ON w.mat_hypertable_id = ca.mat_hypertable_id
  JOIN _timescaledb_catalog.dimension d ON d.hypertable_id = ca.mat_hypertable_id AND d.interval_length IS NOT NULL
 WHERE d.column_type IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)
 ORDER BY ca.user_view_schema, ca.user_view_name
"""


class ReadError(Exception):
    """The database answered, but not as a TimescaleDB database should."""


def job_type(proc_name):
    return JOB_TYPES.get(proc_name, "other")


def qualified_name(schema, name):
    return "%s.%s" % (schema, name) if name else ""


def fetch_dicts(cursor, statement):
    cursor.execute(statement)
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row)) for row in cursor.fetchall()]


def read_database(connection):
    """What one database's catalog says, as rows: {"extension": {...}, "jobs": [...],
    "hypertables": [...], "continuous_aggregates": [...]} (no aggregates on the Apache edition)."""
    with connection.cursor() as cursor:
        # A DDL lock on a chunk would otherwise hold the timer's run, and the file, for as long.
        cursor.execute("SET LOCAL statement_timeout = %s", (STATEMENT_TIMEOUT,))
        extensions = fetch_dicts(cursor, EXTENSION_SQL)
        if not extensions:
            raise ReadError("the timescaledb extension is not installed in this database")
        extension = extensions[0]
        if extension["license"] is None:
            raise ReadError("timescaledb.license is not defined: is timescaledb in shared_preload_libraries?")
        schema = '"%s"' % extension["extension_schema"].replace('"', '""')
        reading = {
            "extension": extension,
            "jobs": fetch_dicts(cursor, JOBS_SQL),
            "hypertables": fetch_dicts(cursor, HYPERTABLES_SQL.format(extension_schema=schema)),
            "continuous_aggregates": [],
        }
        # The Apache edition has no continuous aggregates (TimescaleDB's license governs them).
        if extension["license"] != "apache":
            reading["continuous_aggregates"] = fetch_dicts(cursor, CONTINUOUS_AGGREGATES_SQL)
    return reading


def job_samples(database, job, now):
    labels = tuple(
        zip(
            JOB_LABELS,
            (
                database,
                str(job["job_id"]),
                job_type(job["proc_name"]),
                job["proc_name"],
                qualified_name(job["hypertable_schema"], job["hypertable_name"]),
            ),
        )
    )
    values = [("mantis_timescaledb_job_scheduled", 1 if job["scheduled"] else 0)]
    # job_stats says 'Success' or 'Failed' after a finished run; NULL before the first and while one runs.
    if job["last_run_status"] in ("Success", "Failed"):
        values.append(("mantis_timescaledb_job_last_run_success", 1 if job["last_run_status"] == "Success" else 0))
    if job["last_successful_finish"] is not None:
        values.append(("mantis_timescaledb_job_last_success_timestamp_seconds", job["last_successful_finish"]))
        values.append(("mantis_timescaledb_job_seconds_since_last_success", now - job["last_successful_finish"]))
    values += [
        ("mantis_timescaledb_job_consecutive_failures", job["consecutive_failures"] or 0),
        ("mantis_timescaledb_job_runs_total", job["total_runs"] or 0),
        ("mantis_timescaledb_job_failures_total", job["total_failures"] or 0),
    ]
    if job["scheduled"] and job["next_start"] is not None:
        values.append(("mantis_timescaledb_job_next_start_timestamp_seconds", job["next_start"]))
    values.append(("mantis_timescaledb_job_schedule_interval_seconds", job["schedule_interval"]))
    return [Sample(name, labels, value) for name, value in values]


def hypertable_samples(database, hypertable):
    labels = (
        ("database", database),
        ("hypertable", qualified_name(hypertable["hypertable_schema"], hypertable["hypertable_name"])),
    )
    chunks, compressed = hypertable["chunks"], hypertable["compressed_chunks"]
    return [
        Sample("mantis_timescaledb_hypertable_size_bytes", labels, hypertable["size_bytes"] or 0),
        Sample("mantis_timescaledb_hypertable_chunks", labels, chunks),
        Sample("mantis_timescaledb_hypertable_compressed_chunks", labels, compressed),
        Sample("mantis_timescaledb_hypertable_compressed_share", labels, compressed / chunks if chunks else 0),
    ]


def database_samples(database, reading):
    """The samples of one database: `reading` as read_database() returns it, or None when the
    database could not be read."""
    up = (("database", database),)
    if reading is None:
        return [Sample("mantis_timescaledb_up", up, 0)]
    extension = reading["extension"]
    samples = [
        Sample("mantis_timescaledb_up", up, 1),
        Sample(
            "mantis_timescaledb_info",
            (("database", database), ("version", extension["version"]), ("license", extension["license"])),
            1,
        ),
    ]
    for job in reading["jobs"]:
        samples += job_samples(database, job, extension["now"])
    for hypertable in reading["hypertables"]:
        samples += hypertable_samples(database, hypertable)
    for aggregate in reading["continuous_aggregates"]:
        samples.append(
            Sample(
                "mantis_timescaledb_continuous_aggregate_watermark_lag_seconds",
                (("database", database), ("view", qualified_name(aggregate["view_schema"], aggregate["view_name"]))),
                aggregate["watermark_lag"],
            )
        )
    return samples


def metrics_text(readings):
    """The file's text from (database, reading or None) pairs."""
    samples = []
    for database, reading in readings:
        samples += database_samples(database, reading)
    return render(METRICS, samples)


def connect(arguments, database, password):
    connection = psycopg2.connect(
        host=arguments.host,
        port=arguments.port,
        user=arguments.user,
        password=password,
        dbname=database,
        connect_timeout=arguments.connect_timeout,
        application_name=PROGRAM,
    )
    connection.set_session(readonly=True)
    return connection


def read_all(arguments, password):
    """(database, reading or None) for each database, and the errors as 'database: message'."""
    readings, errors = [], []
    for database in arguments.database:
        try:
            connection = connect(arguments, database, password)
            try:
                reading = read_database(connection)
            finally:
                connection.rollback()
                connection.close()
        except (psycopg2.Error, ReadError) as error:
            readings.append((database, None))
            errors.append("%s: %s" % (database, one_line(error)))
        else:
            readings.append((database, reading))
    return readings, errors


def read_password(path):
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.read().rstrip("\n")
    except OSError as error:
        raise ReadError("cannot read the password file: %s" % error) from error
    if not password:
        raise ReadError("the password file %s is empty" % path)
    return password


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--output", required=True, help="the .prom file to write (in the textfile collector's dir)")
    parser.add_argument("--database", action="append", required=True, help="a database to read (repeatable)")
    parser.add_argument(
        "--host", help="host or socket directory (default: %s if it exists, else localhost)" % SOCKET_DIR
    )
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default=None, help="login role (default: libpq's, the system user)")
    parser.add_argument("--password-file", default=None, help="file holding the login role's password")
    parser.add_argument("--connect-timeout", type=int, default=10, help="seconds to wait for each connection")
    arguments = parser.parse_args(argv)
    if arguments.host is None:
        arguments.host = SOCKET_DIR if os.path.isdir(SOCKET_DIR) else "localhost"
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        password = read_password(arguments.password_file) if arguments.password_file else None
    except ReadError as error:
        print("%s: %s" % (PROGRAM, error), file=sys.stderr)
        return 1
    readings, errors = read_all(arguments, password)
    return write_and_report(PROGRAM, arguments.output, metrics_text(readings), errors)


if __name__ == "__main__":
    sys.exit(main())
