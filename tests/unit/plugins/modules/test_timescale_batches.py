"""Planning and validation of the list options of the TimescaleDB modules (no server)."""

from __future__ import annotations

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import DurationError
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import postgres_argument_spec
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    edition_argument_spec,
    list_option_spec,
    top_level_options,
)
from ansible_collections.mantis.datalayer.plugins.modules import (
    timescale_continuous_aggregate,
    timescale_hypertable,
    timescale_policy,
)
from ansible_collections.mantis.datalayer.plugins.modules.timescale_hypertable import (
    PlanError,
    action_sql,
    desired_hypertable,
    plan_hypertable,
)

DAY = 86400
COLUMNS = ["time timestamptz NOT NULL", "sensor_id integer"]
PROBED = {"time": "timestamp with time zone", "sensor_id": "integer"}


def options(**overrides):
    base = dict(
        table="sensor_data_raw",
        schema="public",
        time_column="time",
        chunk_time_interval="1d",
        partitioning_column=None,
        number_partitions=None,
        migrate_data=False,
        create_default_indexes=True,
        columns=COLUMNS,
    )
    base.update(overrides)
    return base


def missing(columns=None):
    return {"exists": False, "columns": columns or {}, "has_rows": False, "hypertable": None}


# ---------------------------------------------------------------- timescale_hypertable


def test_desired_hypertable_parses_and_validates_one_entry():
    desired = desired_hypertable(options(table="metrics.raw"), "db")
    assert (desired["schema"], desired["table"], desired["chunk_time_interval"]) == ("metrics", "raw", DAY)
    assert desired["columns"] == COLUMNS
    with pytest.raises(DurationError, match="chunk_time_interval: '1 fortnight'"):
        desired_hypertable(options(chunk_time_interval="1 fortnight"), "db")
    with pytest.raises(PlanError, match="chunk_time_interval: must be longer than 0"):
        desired_hypertable(options(chunk_time_interval="0"), "db")
    with pytest.raises(PlanError, match="number_partitions: must be 1 or more"):
        desired_hypertable(options(partitioning_column="sensor_id", number_partitions=0), "db")
    with pytest.raises(PlanError, match="columns: lists no column"):
        desired_hypertable(options(columns=["  "]), "db")


def test_missing_table_with_columns_is_created_then_converted():
    actions, after = plan_hypertable(missing(PROBED), desired_hypertable(options(), "db"))
    assert [action["action"] for action in actions] == ["create_table", "create_hypertable"]
    assert actions[0]["columns"] == COLUMNS
    assert actions[1]["migrate_data"] is False
    assert after["chunk_time_interval"] == DAY
    assert action_sql(actions[0], '"public"."sensor_data_raw"') == (
        'CREATE TABLE "public"."sensor_data_raw" (time timestamptz NOT NULL, sensor_id integer)',
        None,
    )


def test_missing_table_is_validated_against_the_columns_it_would_get():
    with pytest.raises(PlanError, match=r"time_column: column 'ts' does not exist .*sensor_id, time"):
        plan_hypertable(missing(PROBED), desired_hypertable(options(time_column="ts"), "db"))
    with pytest.raises(PlanError, match=r"time_column: column 'sensor_id' .* has type integer"):
        plan_hypertable(missing(PROBED), desired_hypertable(options(time_column="sensor_id"), "db"))


def test_missing_table_without_columns_says_how_to_create_it():
    with pytest.raises(PlanError, match=r"table: public.sensor_data_raw does not exist .*give its columns"):
        plan_hypertable(missing(), desired_hypertable(options(columns=None), "db"))


def test_existing_table_ignores_columns():
    existing = {"exists": True, "columns": PROBED, "has_rows": False, "hypertable": None}
    actions = plan_hypertable(existing, desired_hypertable(options(columns=["other text"]), "db"))[0]
    assert [action["action"] for action in actions] == ["create_hypertable"]


# ---------------------------------------------------------------- argument specs


def validate(module, params):
    spec = postgres_argument_spec()
    if module is not timescale_hypertable:
        spec.update(edition_argument_spec())
    spec.update(top_level_options(module.ITEM_OPTIONS))
    checks = {}
    if module is timescale_hypertable:
        spec["hypertables"] = list_option_spec(
            module.ITEM_OPTIONS, required_together=[("partitioning_column", "number_partitions")]
        )
        checks = dict(
            required_one_of=[("table", "hypertables")],
            mutually_exclusive=[("hypertables", option) for option in module.ITEM_OPTIONS],
            required_by={"table": "time_column"},
        )
    elif module is timescale_policy:
        spec["policies"] = list_option_spec(module.ITEM_OPTIONS)
        checks = dict(
            required_one_of=[("relation", "policies")],
            mutually_exclusive=[("policies", option) for option in module.ITEM_OPTIONS],
            required_by={"relation": "policy"},
        )
    else:
        spec["aggregates"] = list_option_spec(module.ITEM_OPTIONS, required_if=[("state", "present", ["query"])])
        checks = dict(
            required_one_of=[("name", "aggregates")],
            mutually_exclusive=[("aggregates", option) for option in module.ITEM_OPTIONS],
            required_if=[("state", "present", ["query", "aggregates"], True)],
        )
    result = ArgumentSpecValidator(spec, **checks).validate(dict(login_db="db", **params))
    return result.validated_parameters, " ".join(str(error) for error in result.errors)


def test_hypertables_entries_get_the_single_table_defaults():
    params, errors = validate(timescale_hypertable, {"hypertables": [{"table": "a", "time_column": "time"}]})
    assert errors == ""
    entry = params["hypertables"][0]
    assert (entry["schema"], entry["migrate_data"], entry["create_default_indexes"]) == ("public", False, True)


@pytest.mark.parametrize(
    ("module", "params", "error"),
    [
        (timescale_hypertable, {}, "one of the following is required: table, hypertables"),
        (timescale_hypertable, {"table": "a"}, "missing parameter(s) required by 'table': time_column"),
        (
            timescale_hypertable,
            {"table": "a", "time_column": "t", "hypertables": []},
            "mutually exclusive: hypertables|table",
        ),
        (timescale_hypertable, {"hypertables": [{"table": "a"}]}, "time_column"),
        (
            timescale_hypertable,
            {"hypertables": [{"table": "a", "time_column": "t", "partitioning_column": "s"}]},
            "parameters are required together: partitioning_column, number_partitions",
        ),
        (timescale_policy, {}, "one of the following is required: relation, policies"),
        (timescale_policy, {"policies": [{"relation": "a", "policy": "weekly"}]}, "value of policy must be one of"),
        (timescale_policy, {"policies": [], "schema": "x"}, "mutually exclusive: policies|schema"),
        (timescale_continuous_aggregate, {"name": "a"}, "state is present but any of the following are missing"),
        (timescale_continuous_aggregate, {"aggregates": [{"name": "a"}]}, "missing: query"),
    ],
)
def test_bad_combinations_are_refused(module, params, error):
    assert error in validate(module, params)[1]


def test_policy_entries_accept_the_aliases_and_the_top_level_single_options_still_work():
    params, errors = validate(timescale_policy, {"policies": [{"hypertable": "a", "policy": "retention"}]})
    assert errors == ""
    assert params["policies"][0]["relation"] == "a"
    assert params["policies"][0]["state"] == "present"
    params, errors = validate(timescale_policy, {"relation": "a", "policy": "retention", "drop_after": "90d"})
    assert errors == ""
    assert params["policies"] is None
    params, errors = validate(timescale_continuous_aggregate, {"aggregates": [{"name": "a", "query": "SELECT 1"}]})
    assert errors == ""
