"""mantis.datalayer.timescale_policy and timescale_continuous_aggregate on Debian's TimescaleDB.

Debian's TimescaleDB is the Apache edition: the error path (and the skip option) runs
here for real. The features themselves run against the community edition in
test_community_edition.py.
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
