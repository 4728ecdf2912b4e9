"""The community-edition (TSL) features of the timescale modules, for real.

Every test here runs against the TimescaleDB community edition in PGlite (WebAssembly):
PostgreSQL 17 with TimescaleDB 2.23, `timescaledb.license` = `timescale` (see
tests/support/pglite.py). It is a real TimescaleDB engine, not a double: policies,
the columnstore, continuous aggregates, `alter_job` and rollbacks are TimescaleDB's own
code. It has no background workers, so a policy's job runs when a test calls
`CALL run_job(...)`. Each test starts from an empty `public` schema.

The Apache edition's error and skip paths run against Debian's server in
test_timescale_policy.py and test_timescale_batches.py.
"""

from __future__ import annotations

import pytest

COLUMNS = ["time timestamptz NOT NULL", "sensor_id integer NOT NULL", "value double precision"]
HOURLY = (
    "SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value"
    " FROM metrics GROUP BY bucket, sensor_id"
)
DAILY = HOURLY.replace("'1 hour'", "'1 day'")
RETENTION = {"relation": "metrics", "policy": "retention", "drop_after": "90d"}
COMPRESSION = {
    "relation": "metrics",
    "policy": "compression",
    "compress_after": "7d",
    "segmentby": ["sensor_id"],
    "orderby": ["time DESC"],
}
REFRESH = {"relation": "metrics_hourly", "policy": "refresh", "start_offset": "3d", "end_offset": "1h"}


@pytest.fixture
def metrics(community):
    """A hypertable of 1-day chunks with 20 days of rows (200, every 2.4 hours, 5 sensors)."""
    community.sql(f"CREATE TABLE metrics ({', '.join(COLUMNS)})")
    community.sql("SELECT create_hypertable('metrics', by_range('time', interval '1 day'))")
    community.sql(
        "INSERT INTO metrics SELECT now() - g * interval '144 minutes', g % 5, g FROM generate_series(1, 200) g"
    )
    return community


def job_config(tsdb, proc: str, key: str) -> str:
    return tsdb.sql(f"SELECT config->>'{key}' FROM timescaledb_information.jobs WHERE proc_name = '{proc}'")


def job_id(tsdb, proc: str) -> str:
    return tsdb.sql(f"SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = '{proc}'")


def set_job_config(tsdb, job: str, key: str, value: str) -> None:
    """Change one key of a job's config by hand, as an operator would."""
    tsdb.sql(
        f"SELECT alter_job(job_id, config => jsonb_set(config, '{{{key}}}', to_jsonb('{value}'::text)))"
        f" FROM timescaledb_information.jobs WHERE job_id = {job}"
    )


def columnstore_settings(tsdb) -> str:
    return tsdb.sql(
        "SELECT segmentby || ' / ' || orderby FROM timescaledb_information.hypertable_columnstore_settings"
        " WHERE hypertable = 'metrics'::regclass"
    )


def view_comment(tsdb, name: str) -> str:
    return tsdb.sql(f"SELECT coalesce(obj_description('{name}'::regclass, 'pg_class'), '<none>')")


def relation_exists(tsdb, name: str) -> bool:
    return tsdb.sql(f"SELECT to_regclass('public.{name}') IS NOT NULL") == "t"


def test_the_engine_is_the_community_edition(community):
    assert community.license == "timescale"
    assert community.sql("SELECT extversion >= '2.18' FROM pg_extension WHERE extname = 'timescaledb'") == "t"


# ---------------------------------------------------------------- retention


def test_retention_policy_check_create_no_op_drift_and_removal(metrics):
    tsdb = metrics
    check = tsdb.run("timescale_policy", RETENTION, check=True, diff=True)
    assert not check.failed, check.output
    assert check.changed
    assert check.result["queries"] == [
        "SELECT add_retention_policy('\"public\".\"metrics\"', drop_after => '90 days'::interval)"
    ]
    assert check.result["diff"] == {"before": {}, "after": check.result["policy"]}
    assert job_config(tsdb, "policy_retention", "drop_after") == ""

    run = tsdb.run("timescale_policy", RETENTION, diff=True)
    assert run.changed
    assert run.result["policy"]["drop_after"] == "90d"
    assert run.result["policy"]["job_id"] == int(job_id(tsdb, "policy_retention"))
    assert job_config(tsdb, "policy_retention", "drop_after") == "90 days"
    again = tsdb.run("timescale_policy", RETENTION)
    assert not again.changed
    assert again.result["queries"] == []

    # Drift by hand: TimescaleDB's own if_not_exists would keep it.
    job = job_id(tsdb, "policy_retention")
    set_job_config(tsdb, job, "drop_after", "30 days")
    dry = tsdb.run("timescale_policy", RETENTION, check=True)
    assert dry.changed
    assert job_config(tsdb, "policy_retention", "drop_after") == "30 days"
    fixed = tsdb.run("timescale_policy", RETENTION, diff=True)
    assert fixed.changed
    assert (fixed.result["diff"]["before"]["drop_after"], fixed.result["diff"]["after"]["drop_after"]) == ("30d", "90d")
    assert fixed.result["queries"][0].startswith(f"SELECT alter_job({job}, config =>")
    assert job_config(tsdb, "policy_retention", "drop_after") == "90 days"
    assert job_id(tsdb, "policy_retention") == job

    absent = {**RETENTION, "state": "absent"}
    assert tsdb.run("timescale_policy", absent, check=True).changed
    assert job_config(tsdb, "policy_retention", "drop_after") == "90 days"
    gone = tsdb.run("timescale_policy", absent, diff=True)
    assert gone.changed
    assert gone.result["diff"]["after"] == {}
    assert job_config(tsdb, "policy_retention", "drop_after") == ""
    assert not tsdb.run("timescale_policy", absent).changed
    assert tsdb.sql("SELECT count(*) FROM metrics") == "200"


def test_the_retention_job_drops_only_chunks_past_the_age(metrics):
    tsdb = metrics
    assert not tsdb.run("timescale_policy", {**RETENTION, "drop_after": "10d"}).failed
    tsdb.sql(f"CALL run_job({job_id(tsdb, 'policy_retention')})")
    assert tsdb.sql("SELECT count(*) FROM metrics WHERE time < now() - interval '11 days'") == "0"
    assert int(tsdb.sql("SELECT count(*) FROM metrics WHERE time > now() - interval '9 days'")) > 0


# ---------------------------------------------------------------- compression (columnstore)


def test_compression_policy_and_settings_check_create_no_op_drift_and_removal(metrics):
    tsdb = metrics
    check = tsdb.run("timescale_policy", COMPRESSION, check=True, diff=True)
    assert check.changed
    assert check.result["queries"] == [
        'ALTER TABLE "public"."metrics" SET (timescaledb.enable_columnstore = true,'
        " timescaledb.segmentby = 'sensor_id', timescaledb.orderby = 'time DESC')",
        "CALL add_columnstore_policy('\"public\".\"metrics\"', after => '7 days'::interval)",
    ]
    assert tsdb.sql("SELECT compression_enabled FROM timescaledb_information.hypertables") == "f"
    assert job_id(tsdb, "policy_compression") == ""

    run = tsdb.run("timescale_policy", COMPRESSION, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["diff"]["after"]["segmentby"] == ["sensor_id"]
    assert columnstore_settings(tsdb) == 'sensor_id / "time" DESC'
    assert job_config(tsdb, "policy_compression", "compress_after") == "7 days"
    assert not tsdb.run("timescale_policy", COMPRESSION).changed

    # The job's age changed by hand is put back.
    job = job_id(tsdb, "policy_compression")
    set_job_config(tsdb, job, "compress_after", "14 days")
    fixed = tsdb.run("timescale_policy", COMPRESSION, diff=True)
    assert fixed.changed
    assert (fixed.result["diff"]["before"]["compress_after"], fixed.result["diff"]["after"]["compress_after"]) == (
        "14d",
        "7d",
    )
    assert job_config(tsdb, "policy_compression", "compress_after") == "7 days"

    # So are the columnstore settings.
    tsdb.sql("ALTER TABLE metrics SET (timescaledb.segmentby = '', timescaledb.orderby = 'time ASC')")
    drifted = tsdb.run("timescale_policy", COMPRESSION, diff=True)
    assert drifted.changed
    assert drifted.result["diff"]["before"]["segmentby"] == []
    assert drifted.result["diff"]["before"]["orderby"] == "time"
    assert columnstore_settings(tsdb) == 'sensor_id / "time" DESC'
    assert not tsdb.run("timescale_policy", COMPRESSION).changed

    absent = {"relation": "metrics", "policy": "compression", "state": "absent"}
    assert tsdb.run("timescale_policy", absent, check=True).changed
    assert job_id(tsdb, "policy_compression") == job
    gone = tsdb.run("timescale_policy", absent)
    assert gone.result["queries"] == ['CALL remove_columnstore_policy(\'"public"."metrics"\')']
    assert job_id(tsdb, "policy_compression") == ""
    # Removing the policy leaves the settings (and compressed chunks) as they are.
    assert columnstore_settings(tsdb) == 'sensor_id / "time" DESC'
    assert not tsdb.run("timescale_policy", absent).changed


def test_the_compression_job_compresses_old_chunks_and_keeps_every_row(metrics):
    tsdb = metrics
    assert not tsdb.run("timescale_policy", COMPRESSION).failed
    before = tsdb.sql("SELECT count(*), sum(value) FROM metrics")
    tsdb.sql(f"CALL run_job({job_id(tsdb, 'policy_compression')})")
    compressed = int(tsdb.sql("SELECT count(*) FROM timescaledb_information.chunks WHERE is_compressed"))
    assert compressed >= 10
    assert (
        tsdb.sql(
            "SELECT bool_and(is_compressed) FROM timescaledb_information.chunks"
            " WHERE range_end < now() - interval '8 days'"
        )
        == "t"
    )
    assert tsdb.sql("SELECT count(*), sum(value) FROM metrics") == before


def test_an_existing_policy_added_with_the_old_compression_api_is_converged(metrics):
    tsdb = metrics
    tsdb.sql("ALTER TABLE metrics SET (timescaledb.compress, timescaledb.compress_segmentby = 'sensor_id')")
    tsdb.sql("SELECT add_compression_policy('metrics', interval '30 days')")
    run = tsdb.run("timescale_policy", COMPRESSION, diff=True)
    assert run.changed
    assert run.result["diff"]["before"]["compress_after"] == "30d"
    assert [query.split("(")[0] for query in run.result["queries"]] == [
        'ALTER TABLE "public"."metrics" SET ',
        "SELECT alter_job",
    ]
    assert job_config(tsdb, "policy_compression", "compress_after") == "7 days"


# ---------------------------------------------------------------- continuous aggregates and refresh


def test_continuous_aggregate_check_create_no_op_refused_change_recreate_and_removal(metrics):
    tsdb = metrics
    args = {"name": "metrics_hourly", "query": HOURLY}
    check = tsdb.run("timescale_continuous_aggregate", args, check=True, diff=True)
    assert check.changed
    assert check.result["queries"][0].startswith(
        'CREATE MATERIALIZED VIEW "public"."metrics_hourly" WITH (timescaledb.continuous'
    )
    assert check.result["queries"][1].startswith('COMMENT ON VIEW "public"."metrics_hourly" IS')
    assert not relation_exists(tsdb, "metrics_hourly")

    run = tsdb.run("timescale_continuous_aggregate", args, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert view_comment(tsdb, "metrics_hourly").startswith("mantis.datalayer definition sha256:")
    assert tsdb.sql("SELECT count(*) FROM metrics_hourly") == "0"  # WITH NO DATA, materialized only
    assert not tsdb.run("timescale_continuous_aggregate", args).changed

    tsdb.sql("CALL refresh_continuous_aggregate('metrics_hourly', NULL, NULL)")
    rows = tsdb.sql("SELECT count(*) FROM metrics_hourly")
    assert int(rows) > 100

    changed_query = HOURLY.replace("avg(value) AS avg_value", "max(value) AS max_value")
    refused = tsdb.run("timescale_continuous_aggregate", {**args, "query": changed_query})
    assert refused.failed
    assert "Set recreate: true" in refused.result["msg"]
    assert refused.result["queries"] == []
    assert tsdb.sql("SELECT count(*) FROM metrics_hourly") == rows

    flipped = tsdb.run("timescale_continuous_aggregate", {**args, "materialized_only": False}, diff=True)
    assert flipped.changed
    assert flipped.result["queries"] == [
        'ALTER MATERIALIZED VIEW "public"."metrics_hourly" SET (timescaledb.materialized_only = false)'
    ]
    assert tsdb.sql("SELECT materialized_only FROM timescaledb_information.continuous_aggregates") == "f"

    recreate = {**args, "query": changed_query, "recreate": True, "with_data": True}
    recreated = tsdb.run("timescale_continuous_aggregate", recreate)
    assert not recreated.failed, recreated.output
    assert recreated.result["queries"][0] == 'DROP MATERIALIZED VIEW "public"."metrics_hourly"'
    assert (
        recreated.result["queries"][-1]
        == 'CALL refresh_continuous_aggregate(\'"public"."metrics_hourly"\', NULL, NULL)'
    )
    assert tsdb.sql("SELECT count(*) FROM metrics_hourly") == rows
    assert tsdb.sql("SELECT count(*) FROM metrics_hourly WHERE max_value IS NOT NULL") == rows
    assert not tsdb.run("timescale_continuous_aggregate", recreate).changed

    gone = tsdb.run("timescale_continuous_aggregate", {"name": "metrics_hourly", "state": "absent"}, diff=True)
    assert gone.changed
    assert gone.result["diff"]["after"] == {}
    assert not relation_exists(tsdb, "metrics_hourly")
    assert tsdb.sql("SELECT count(*) FROM metrics") == "200"


def test_a_view_made_by_hand_is_refused_without_recreate(metrics):
    tsdb = metrics
    tsdb.sql(f"CREATE MATERIALIZED VIEW metrics_hourly WITH (timescaledb.continuous) AS {HOURLY} WITH NO DATA")
    refused = tsdb.run("timescale_continuous_aggregate", {"name": "metrics_hourly", "query": HOURLY})
    assert refused.failed
    assert "a definition not recorded by this module" in refused.result["msg"]


def test_refresh_policy_check_create_no_op_drift_and_removal(metrics):
    tsdb = metrics
    assert not tsdb.run("timescale_continuous_aggregate", {"name": "metrics_hourly", "query": HOURLY}).failed
    check = tsdb.run("timescale_policy", REFRESH, check=True)
    assert check.changed
    assert job_id(tsdb, "policy_refresh_continuous_aggregate") == ""
    run = tsdb.run("timescale_policy", REFRESH, diff=True)
    assert not run.failed, run.output
    assert run.result["policy"]["schedule_interval"] == "1h"
    assert job_config(tsdb, "policy_refresh_continuous_aggregate", "start_offset") == "3 days"
    assert not tsdb.run("timescale_policy", REFRESH).changed

    job = job_id(tsdb, "policy_refresh_continuous_aggregate")
    set_job_config(tsdb, job, "start_offset", "7 days")
    tsdb.sql(f"SELECT alter_job({job}, schedule_interval => interval '5 hours')")
    fixed = tsdb.run("timescale_policy", {**REFRESH, "schedule_interval": "1h"}, diff=True)
    assert fixed.changed
    assert (fixed.result["diff"]["before"]["start_offset"], fixed.result["diff"]["before"]["schedule_interval"]) == (
        "7d",
        "5h",
    )
    assert job_config(tsdb, "policy_refresh_continuous_aggregate", "start_offset") == "3 days"
    assert tsdb.sql(f"SELECT schedule_interval FROM timescaledb_information.jobs WHERE job_id = {job}") == "01:00:00"

    # The job fills the view (no background worker here: run it by hand).
    tsdb.sql(f"CALL run_job({job})")
    assert int(tsdb.sql("SELECT count(*) FROM metrics_hourly")) > 0

    absent = {"relation": "metrics_hourly", "policy": "refresh", "state": "absent"}
    assert tsdb.run("timescale_policy", absent, check=True).changed
    assert tsdb.run("timescale_policy", absent).changed
    assert job_id(tsdb, "policy_refresh_continuous_aggregate") == ""


# ---------------------------------------------------------------- lists: one transaction


def test_policies_and_aggregates_of_the_role_shape_in_four_calls(metrics):
    tsdb = metrics
    policies = {"policies": [RETENTION, COMPRESSION]}
    aggregates = {
        "aggregates": [{"name": "metrics_hourly", "query": HOURLY}, {"name": "metrics_daily", "query": DAILY}]
    }
    refresh = {"policies": [REFRESH, {**REFRESH, "relation": "metrics_daily", "end_offset": "1d"}]}
    for module, args in (
        ("timescale_policy", policies),
        ("timescale_continuous_aggregate", aggregates),
        ("timescale_policy", refresh),
    ):
        dry = tsdb.run(module, args, check=True)
        assert not dry.failed, dry.output
        assert dry.changed
        run = tsdb.run(module, args, diff=True)
        assert not run.failed, run.output
        assert all(result["changed"] for result in run.result["results"])
        assert not tsdb.run(module, args).changed
    assert tsdb.sql("SELECT count(*) FROM timescaledb_information.jobs WHERE job_id >= 1000") == "4"


def test_a_list_that_fails_half_way_changes_nothing_and_the_next_run_converges(metrics):
    tsdb = metrics
    broken = {
        "aggregates": [
            {"name": "metrics_hourly", "query": HOURLY},
            {"name": "metrics_daily", "query": DAILY.replace("FROM metrics", "FROM no_such_table")},
        ]
    }
    failed = tsdb.run("timescale_continuous_aggregate", broken)
    assert failed.failed
    assert failed.result["msg"].startswith("aggregates[1]: changing continuous aggregate public.metrics_daily failed")
    assert "nothing was changed" in failed.result["msg"]
    # The first view went with the rollback: no view is left without its record.
    assert not relation_exists(tsdb, "metrics_hourly")

    fixed = {"aggregates": [broken["aggregates"][0], {"name": "metrics_daily", "query": DAILY}]}
    run = tsdb.run("timescale_continuous_aggregate", fixed)
    assert not run.failed, run.output
    assert [result["created"] for result in run.result["results"]] == [True, True]
    assert not tsdb.run("timescale_continuous_aggregate", fixed).changed

    # Policies: a server-side failure of the second entry rolls back the first.
    policies = {"policies": [RETENTION, {**COMPRESSION, "segmentby": ["no_such_column"]}]}
    failed = tsdb.run("timescale_policy", policies)
    assert failed.failed
    assert failed.result["msg"].startswith("policies[1]: changing the compression policy on public.metrics failed")
    assert job_id(tsdb, "policy_retention") == ""
    run = tsdb.run("timescale_policy", {"policies": [RETENTION, COMPRESSION]})
    assert not run.failed, run.output
    assert job_config(tsdb, "policy_retention", "drop_after") == "90 days"


# ---------------------------------------------------------------- names as PostgreSQL reads them


def test_policies_and_aggregates_on_hostile_names(community):
    tsdb = community
    tsdb.sql('CREATE SCHEMA "Mäß Schema"')
    table = '"Mäß Schema"."Sensör Daten"'
    columns = ["time timestamptz NOT NULL", '"Sensor ID" integer NOT NULL', "value double precision"]
    assert not tsdb.run("timescale_hypertable", {"table": table, "time_column": "time", "columns": columns}).failed
    policies = {
        "policies": [
            {"relation": table, "policy": "retention", "drop_after": "30d"},
            {
                "relation": table,
                "policy": "compression",
                "compress_after": "7d",
                "segmentby": ['"Sensor ID"'],
                "orderby": ["Time DESC"],
            },
        ]
    }
    run = tsdb.run("timescale_policy", policies)
    assert not run.failed, run.output
    assert [r["label"] for r in run.result["results"]] == [
        "retention policy on Mäß Schema.Sensör Daten",
        "compression policy on Mäß Schema.Sensör Daten",
    ]
    assert (
        tsdb.sql(
            "SELECT segmentby || ' / ' || orderby FROM timescaledb_information.hypertable_columnstore_settings"
            ' WHERE hypertable = \'"Mäß Schema"."Sensör Daten"\'::regclass'
        )
        # segmentby is listed as stored (array_to_string), orderby quoted by TimescaleDB.
        == 'Sensor ID / "time" DESC'
    )
    assert not tsdb.run("timescale_policy", policies).changed

    hourly = (
        "SELECT time_bucket('1 hour', time) AS bucket, \"Sensor ID\", avg(value) AS avg_value"
        ' FROM "Mäß Schema"."Sensör Daten" GROUP BY bucket, "Sensor ID"'
    )
    aggregate = {"name": '"Mäß Schema"."Stündlich ""1h"""', "query": hourly}
    run = tsdb.run("timescale_continuous_aggregate", aggregate)
    assert not run.failed, run.output
    assert (
        tsdb.sql(
            "SELECT count(*) FROM timescaledb_information.continuous_aggregates"
            " WHERE view_schema = 'Mäß Schema' AND view_name = 'Stündlich \"1h\"'"
        )
        == "1"
    )
    assert not tsdb.run("timescale_continuous_aggregate", aggregate).changed


def test_an_aggregate_query_cannot_run_another_statement(metrics):
    tsdb = metrics
    tsdb.sql("CREATE TABLE canary (x int)")
    for query in (HOURLY + "; DROP TABLE canary", HOURLY + " -- WITH NO DATA is commented out"):
        for check in (True, False):
            run = tsdb.run("timescale_continuous_aggregate", {"name": "metrics_hourly", "query": query}, check=check)
            assert run.failed
            assert run.result["msg"].startswith("query: ")
    assert relation_exists(tsdb, "canary")
    assert not relation_exists(tsdb, "metrics_hourly")
