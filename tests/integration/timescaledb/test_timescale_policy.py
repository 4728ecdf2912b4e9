"""mantis.datalayer.timescale_policy and timescale_continuous_aggregate against a real TimescaleDB.

Debian's TimescaleDB is the Apache edition: the error path (and the skip option) runs
for real. The policy and continuous-aggregate tests use the real SQL API and run when
the server reports the community edition (`timescale`); they skip visibly otherwise.
"""

from __future__ import annotations

import pytest

HOURLY = (
    "SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value"
    " FROM metrics GROUP BY bucket, sensor_id"
)


@pytest.fixture(scope="module")
def metrics(tsdb):
    tsdb.sql("CREATE TABLE metrics (time timestamptz NOT NULL, sensor_id integer NOT NULL, value double precision)")
    tsdb.sql("SELECT create_hypertable('metrics', by_range('time', interval '1 day'))")
    tsdb.sql("INSERT INTO metrics SELECT now() - g * interval '1 hour', g % 5, g FROM generate_series(1, 200) g")
    return "metrics"


def jobs(tsdb) -> str:
    return tsdb.sql("SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name = 'metrics'")


# ---------------------------------------------------------------- apache edition


@pytest.mark.parametrize(
    ("module", "args", "feature"),
    [
        ("timescale_policy", {"relation": "metrics", "policy": "retention", "drop_after": "90d"}, "retention policy"),
        (
            "timescale_policy",
            {"relation": "metrics", "policy": "compression", "compress_after": "7d", "segmentby": ["sensor_id"]},
            "compression policy",
        ),
        ("timescale_continuous_aggregate", {"name": "metrics_hourly", "query": HOURLY}, "continuous aggregate"),
    ],
)
def test_apache_edition_fails_before_changing_anything(apache_edition, metrics, module, args, feature):
    tsdb = apache_edition
    run = tsdb.run(module, args)
    assert run.failed
    message = run.result["msg"]
    assert feature in message
    assert '"apache" edition' in message
    assert "community edition" in message
    assert "packagecloud.io/timescale/timescaledb" in message
    assert run.result["queries"] == []
    # nothing changed: no job, no compression setting, no view
    assert jobs(tsdb) == "0"
    assert (
        tsdb.sql(
            "SELECT compression_enabled FROM timescaledb_information.hypertables WHERE hypertable_name = 'metrics'"
        )
        == "f"
    )
    assert tsdb.sql("SELECT count(*) FROM pg_class WHERE relname = 'metrics_hourly'") == "0"


def test_apache_edition_skip_warns_and_reports_the_skipped_policy(apache_edition, metrics):
    run = apache_edition.run(
        "timescale_policy",
        {"relation": "metrics", "policy": "retention", "drop_after": "90d", "unsupported_edition": "skip"},
    )
    assert not run.failed, run.output
    assert not run.changed
    assert run.result["skipped_features"] == ["retention policy on public.metrics"]
    assert any("retention policy on public.metrics" in w for w in run.result.get("warnings", []))
    assert jobs(apache_edition) == "0"


def test_absent_policy_on_apache_is_already_converged(apache_edition, metrics):
    run = apache_edition.run("timescale_policy", {"relation": "metrics", "policy": "retention", "state": "absent"})
    assert not run.failed, run.output
    assert not run.changed


def test_bad_interval_is_named(tsdb, metrics):
    run = tsdb.run("timescale_policy", {"relation": "metrics", "policy": "retention", "drop_after": "90 dayz"})
    assert run.failed
    assert "drop_after: '90 dayz' is not a duration" in run.result["msg"]


# ---------------------------------------------------------------- community edition


def retention_config(tsdb) -> str:
    return tsdb.sql(
        "SELECT config->>'drop_after' FROM timescaledb_information.jobs"
        " WHERE proc_name = 'policy_retention' AND hypertable_name = 'metrics'"
    )


def test_retention_policy_create_no_op_and_drift(community_edition, metrics):
    tsdb = community_edition
    args = {"relation": "metrics", "policy": "retention", "drop_after": "90d"}
    check = tsdb.run("timescale_policy", args, check=True)
    assert check.changed
    assert retention_config(tsdb) == ""

    run = tsdb.run("timescale_policy", args, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert retention_config(tsdb) == "90 days"
    assert not tsdb.run("timescale_policy", args).changed

    # Drift by hand: TimescaleDB's own if_not_exists would keep this.
    job_id = tsdb.sql("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention'")
    tsdb.sql(f"SELECT alter_job({job_id}, config => jsonb_set(config, '{{drop_after}}', '\"30 days\"'))")
    run = tsdb.run("timescale_policy", args, diff=True)
    assert run.changed
    assert run.result["diff"]["before"]["drop_after"] == "30d"
    assert run.result["diff"]["after"]["drop_after"] == "90d"
    assert run.result["queries"][0].startswith(f"SELECT alter_job({job_id}, config =>")
    assert retention_config(tsdb) == "90 days"

    gone = tsdb.run("timescale_policy", {**args, "state": "absent"})
    assert gone.changed
    assert retention_config(tsdb) == ""
    assert tsdb.sql("SELECT count(*) FROM metrics") == "200"


def test_compression_settings_and_policy(community_edition, metrics):
    tsdb = community_edition
    args = {
        "relation": "metrics",
        "policy": "compression",
        "compress_after": "7d",
        "segmentby": ["sensor_id"],
        "orderby": ["time DESC"],
    }
    run = tsdb.run("timescale_policy", args)
    assert not run.failed, run.output
    assert (
        tsdb.sql(
            "SELECT attname FROM timescaledb_information.compression_settings"
            " WHERE hypertable_name = 'metrics' AND segmentby_column_index = 1"
        )
        == "sensor_id"
    )
    assert not tsdb.run("timescale_policy", args).changed
    run = tsdb.run("timescale_policy", {**args, "compress_after": "14d"}, diff=True)
    assert run.changed
    assert (
        tsdb.sql(
            "SELECT config->>'compress_after' FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'"
        )
        == "14 days"
    )


def test_continuous_aggregate_and_refresh_policy(community_edition, metrics):
    tsdb = community_edition
    args = {"name": "metrics_hourly", "query": HOURLY, "materialized_only": True, "with_data": True}
    run = tsdb.run("timescale_continuous_aggregate", args)
    assert not run.failed, run.output
    rows = tsdb.sql("SELECT count(*) FROM metrics_hourly")
    assert int(rows) > 0
    assert not tsdb.run("timescale_continuous_aggregate", args).changed

    changed_query = HOURLY.replace("avg(value) AS avg_value", "max(value) AS max_value")
    refused = tsdb.run("timescale_continuous_aggregate", {**args, "query": changed_query})
    assert refused.failed
    assert "recreate: true" in refused.result["msg"]
    assert tsdb.sql("SELECT count(*) FROM metrics_hourly") == rows

    flipped = tsdb.run("timescale_continuous_aggregate", {**args, "materialized_only": False})
    assert flipped.changed
    assert (
        tsdb.sql(
            "SELECT materialized_only FROM timescaledb_information.continuous_aggregates"
            " WHERE view_name = 'metrics_hourly'"
        )
        == "f"
    )

    policy = {"relation": "metrics_hourly", "policy": "refresh", "start_offset": "3d", "end_offset": "1h"}
    run = tsdb.run("timescale_policy", policy)
    assert not run.failed, run.output
    assert not tsdb.run("timescale_policy", policy).changed
    run = tsdb.run("timescale_policy", {**policy, "start_offset": "7d"}, diff=True)
    assert run.changed
    assert (
        tsdb.sql(
            "SELECT config->>'start_offset' FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        )
        == "7 days"
    )

    recreated = tsdb.run("timescale_continuous_aggregate", {**args, "query": changed_query, "recreate": True})
    assert recreated.changed
    assert recreated.result["queries"][0].startswith("DROP MATERIALIZED VIEW")
