from __future__ import annotations

import json

import pytest
from ansible_collections.mantis.datalayer.plugins.modules.timescale_policy import (
    PlanError,
    action_sql,
    desired_state,
    parse_orderby,
    plan_policy,
)

DAY = 86400


def params(**overrides):
    base = dict(
        policy="retention",
        state="present",
        drop_after=None,
        compress_after=None,
        segmentby=None,
        orderby=None,
        start_offset=None,
        end_offset=None,
        schedule_interval=None,
    )
    base.update(overrides)
    return base


def job(durations, config, schedule=DAY):
    return {"job_id": 1000, "config": config, "durations": durations, "schedule_interval": schedule}


def test_desired_state_parses_durations_and_refuses_foreign_options():
    desired = desired_state(params(drop_after="90d"))
    assert desired["durations"] == {"drop_after": 90 * DAY}
    with pytest.raises(PlanError, match="drop_after: required"):
        desired_state(params())
    with pytest.raises(PlanError, match="compress_after: does not apply to a retention policy"):
        desired_state(params(drop_after="1d", compress_after="1d"))
    with pytest.raises(PlanError, match="end_offset: required"):
        desired_state(params(policy="refresh", start_offset="3d"))


def test_missing_policy_is_added():
    desired = desired_state(params(drop_after="90d"))
    actions, after = plan_policy({"job": None, "compression": None}, desired)
    assert actions == [{"action": "add", "durations": {"drop_after": 90 * DAY}, "schedule_interval": None}]
    assert action_sql(actions[0], "retention", "rel", "rel") == (
        "SELECT add_retention_policy(%s, drop_after => %s::interval)",
        ["rel", "90 days"],
    )
    assert after["durations"] == {"drop_after": 90 * DAY}


def test_converged_policy_needs_nothing():
    current = {"job": job({"drop_after": 90 * DAY}, {"drop_after": "90 days", "hypertable_id": 1}), "compression": None}
    assert plan_policy(current, desired_state(params(drop_after="90 days")))[0] == []


def test_retention_drift_is_corrected_through_alter_job_keeping_the_rest_of_the_config():
    current = {"job": job({"drop_after": 30 * DAY}, {"drop_after": "30 days", "hypertable_id": 7}), "compression": None}
    actions, after = plan_policy(current, desired_state(params(drop_after="90d", schedule_interval="12h")))
    assert actions == [
        {
            "action": "alter_job",
            "job_id": 1000,
            "config": {"drop_after": "90 days", "hypertable_id": 7},
            "schedule_interval": 12 * 3600,
        }
    ]
    sql, sql_params = action_sql(actions[0], "retention", "rel", "rel")
    assert sql == "SELECT alter_job(%s, config => %s::jsonb, schedule_interval => %s::interval)"
    assert sql_params[0] == 1000
    assert json.loads(sql_params[1]) == {"drop_after": "90 days", "hypertable_id": 7}
    assert sql_params[2] == "12 hours"
    assert after["schedule_interval"] == 12 * 3600


def test_policy_of_another_kind_is_removed_and_added():
    current = {
        "job": job({}, {"drop_created_before": "30 days", "hypertable_id": 7}),
        "compression": None,
    }
    actions = plan_policy(current, desired_state(params(drop_after="90d")))[0]
    assert [a["action"] for a in actions] == ["remove", "add"]
    assert action_sql(actions[0], "retention", "rel", "rel") == ("SELECT remove_retention_policy(%s)", ["rel"])


def test_absent_removes_only_an_existing_policy():
    desired = desired_state(params(state="absent"))
    assert plan_policy({"job": None, "compression": None}, desired)[0] == []
    current = {"job": job({"drop_after": DAY}, {"drop_after": "1 day"}), "compression": None}
    assert plan_policy(current, desired)[0] == [{"action": "remove"}]


def test_compression_settings_and_policy():
    desired = desired_state(
        params(policy="compression", compress_after="7d", segmentby=["sensor_id"], orderby=["time DESC"])
    )
    fresh = {"job": None, "compression": {"enabled": False, "segmentby": [], "orderby": []}}
    actions, after = plan_policy(fresh, desired)
    assert [a["action"] for a in actions] == ["set_compression", "add"]
    # The columnstore names of TimescaleDB 2.18 (the compress_* names are deprecated aliases).
    assert action_sql(actions[0], "compression", '"public"."raw"', "x") == (
        'ALTER TABLE "public"."raw" SET (timescaledb.enable_columnstore = true, timescaledb.segmentby = %s,'
        " timescaledb.orderby = %s)",
        ["sensor_id", "time DESC"],
    )
    # add_columnstore_policy is a procedure, and names the age `after`.
    assert action_sql(actions[1], "compression", '"public"."raw"', "x") == (
        "CALL add_columnstore_policy(%s, after => %s::interval)",
        ["x", "7 days"],
    )
    assert action_sql({"action": "remove"}, "compression", '"public"."raw"', "x") == (
        "CALL remove_columnstore_policy(%s)",
        ["x"],
    )
    assert after["orderby"] == [("time", False)]

    converged = {
        "job": job({"compress_after": 7 * DAY}, {"compress_after": "7 days", "hypertable_id": 1}),
        "compression": {"enabled": True, "segmentby": ["sensor_id"], "orderby": [("time", False)]},
    }
    assert plan_policy(converged, desired)[0] == []
    drifted = dict(converged, compression={"enabled": True, "segmentby": [], "orderby": [("time", False)]})
    assert [a["action"] for a in plan_policy(drifted, desired)[0]] == ["set_compression"]


def test_refresh_policy_gets_a_default_schedule_and_a_null_start():
    desired = desired_state(params(policy="refresh", end_offset="1h"))
    actions = plan_policy({"job": None, "compression": None}, desired)[0]
    assert action_sql(actions[0], "refresh", "rel", "rel") == (
        "SELECT add_continuous_aggregate_policy(%s, start_offset => %s::interval, end_offset => %s::interval,"
        " schedule_interval => %s::interval)",
        ["rel", None, "1 hours", "1 hours"],
    )


def test_orderby_entries():
    assert parse_orderby("time DESC") == ("time", False)
    assert parse_orderby("sensor_id") == ("sensor_id", True)
    with pytest.raises(PlanError, match="orderby"):
        parse_orderby("time sideways")
