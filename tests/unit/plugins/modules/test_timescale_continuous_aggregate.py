from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.modules.timescale_continuous_aggregate import (
    PlanError,
    action_sql,
    fingerprint_from_comment,
    plan_continuous_aggregate,
    query_fingerprint,
)

QUERY = "SELECT time_bucket('1 hour', time) AS bucket, avg(value) FROM raw GROUP BY bucket"


def desired(**overrides):
    base = dict(
        state="present",
        label="public.hourly",
        query=QUERY,
        fingerprint=query_fingerprint(QUERY),
        materialized_only=True,
        with_data=False,
        recreate=False,
    )
    base.update(overrides)
    return base


def test_whitespace_does_not_change_the_fingerprint():
    assert query_fingerprint("  SELECT 1\n  FROM x;\n") == query_fingerprint("SELECT 1 FROM x")
    assert query_fingerprint("SELECT 1 FROM x") != query_fingerprint("SELECT 2 FROM x")


def test_missing_view_is_created_empty_and_fingerprinted():
    actions = plan_continuous_aggregate(None, desired())[0]
    assert [a["action"] for a in actions] == ["create", "comment"]
    sql = action_sql(actions[0], '"public"."hourly"', desired())[0]
    assert sql.startswith('CREATE MATERIALIZED VIEW "public"."hourly" WITH (timescaledb.continuous')
    assert sql.endswith("WITH NO DATA")
    sql, sql_params = action_sql(actions[1], '"public"."hourly"', desired())
    # A continuous aggregate is a view to PostgreSQL: COMMENT ON MATERIALIZED VIEW refuses it.
    assert sql == 'COMMENT ON VIEW "public"."hourly" IS %s'
    assert fingerprint_from_comment(sql_params[0]) == query_fingerprint(QUERY)


def test_with_data_still_creates_empty_inside_the_transaction():
    # The refresh that fills it runs after the commit (ContinuousAggregates.finish).
    sql = action_sql({"action": "create"}, '"public"."hourly"', desired(with_data=True))[0]
    assert sql.endswith("WITH NO DATA")


def test_converged_view_needs_nothing_and_materialized_only_is_corrected():
    current = {"materialized_only": True, "fingerprint": query_fingerprint(QUERY)}
    assert plan_continuous_aggregate(current, desired())[0] == []
    actions = plan_continuous_aggregate(current, desired(materialized_only=False))[0]
    assert actions == [{"action": "set_materialized_only"}]


def test_changed_definition_never_drops_data_without_recreate():
    current = {"materialized_only": True, "fingerprint": query_fingerprint("SELECT other")}
    with pytest.raises(PlanError, match=r"Nothing was changed. Set recreate: true"):
        plan_continuous_aggregate(current, desired())
    unknown = {"materialized_only": True, "fingerprint": None}
    with pytest.raises(PlanError, match="not recorded by this module"):
        plan_continuous_aggregate(unknown, desired())
    actions = plan_continuous_aggregate(current, desired(recreate=True))[0]
    assert [a["action"] for a in actions] == ["drop", "create", "comment"]


def test_absent():
    assert plan_continuous_aggregate(None, desired(state="absent"))[0] == []
    current = {"materialized_only": True, "fingerprint": None}
    assert plan_continuous_aggregate(current, desired(state="absent"))[0] == [{"action": "drop"}]
