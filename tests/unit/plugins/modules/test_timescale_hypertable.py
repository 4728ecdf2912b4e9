from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.modules.timescale_hypertable import (
    PlanError,
    action_sql,
    plan_hypertable,
)

COLUMNS = {"time": "timestamp with time zone", "sensor_id": "integer", "value": "double precision"}
DAY = 86400


def desired(**overrides):
    base = dict(
        database="mantis_timeseries",
        schema="public",
        table="sensor_data_raw",
        time_column="time",
        chunk_time_interval=DAY,
        partitioning_column=None,
        number_partitions=None,
        migrate_data=False,
        create_default_indexes=True,
    )
    base.update(overrides)
    return base


def plain_table(has_rows=False):
    return {"exists": True, "columns": COLUMNS, "has_rows": has_rows, "hypertable": None}


def hypertable(chunk=DAY, space=None, partitions=None):
    return {
        "exists": True,
        "columns": COLUMNS,
        "has_rows": None,
        "hypertable": {
            "time_column": "time",
            "chunk_time_interval": chunk,
            "partitioning_column": space,
            "number_partitions": partitions,
        },
    }


def test_plain_empty_table_is_converted():
    actions, after = plan_hypertable(plain_table(), desired())
    assert actions == [
        {
            "action": "create_hypertable",
            "time_column": "time",
            "chunk_time_interval": DAY,
            "migrate_data": False,
            "create_default_indexes": True,
        }
    ]
    assert after["chunk_time_interval"] == DAY


def test_default_chunk_interval_is_seven_days():
    after = plan_hypertable(plain_table(), desired(chunk_time_interval=None))[1]
    assert after["chunk_time_interval"] == 7 * DAY


def test_converged_hypertable_needs_nothing():
    assert plan_hypertable(hypertable(), desired())[0] == []
    # no interval asked for: the existing one is not compared
    assert plan_hypertable(hypertable(chunk=3 * DAY), desired(chunk_time_interval=None))[0] == []


def test_chunk_interval_drift_is_corrected():
    actions, after = plan_hypertable(hypertable(chunk=7 * DAY), desired())
    assert actions == [{"action": "set_chunk_time_interval", "chunk_time_interval": DAY}]
    assert after["chunk_time_interval"] == DAY


def test_non_empty_table_needs_migrate_data():
    with pytest.raises(PlanError, match=r"already holds rows.*migrate_data: true"):
        plan_hypertable(plain_table(has_rows=True), desired())
    actions = plan_hypertable(plain_table(has_rows=True), desired(migrate_data=True))[0]
    assert actions[0]["migrate_data"] is True


def test_unknown_table():
    with pytest.raises(PlanError, match=r"public.sensor_data_raw does not exist in database 'mantis_timeseries'"):
        plan_hypertable({"exists": False, "columns": {}, "has_rows": None, "hypertable": None}, desired())


def test_missing_time_column_lists_the_columns():
    with pytest.raises(PlanError, match=r"time_column: column 'ts' does not exist.*sensor_id, time, value"):
        plan_hypertable(plain_table(), desired(time_column="ts"))


def test_time_column_of_a_wrong_type():
    with pytest.raises(PlanError, match=r"time_column: column 'sensor_id' .* has type integer"):
        plan_hypertable(plain_table(), desired(time_column="sensor_id"))


def test_time_column_of_an_existing_hypertable_cannot_change():
    columns = dict(COLUMNS, recorded_at="timestamp with time zone")
    current = dict(hypertable(), columns=columns)
    with pytest.raises(PlanError, match=r"cannot be changed"):
        plan_hypertable(current, desired(time_column="recorded_at"))


def test_space_dimension_added_then_partitions_corrected():
    actions, after = plan_hypertable(plain_table(), desired(partitioning_column="sensor_id", number_partitions=4))
    assert [a["action"] for a in actions] == ["create_hypertable", "add_dimension"]
    assert after["number_partitions"] == 4
    actions = plan_hypertable(
        hypertable(space="sensor_id", partitions=2), desired(partitioning_column="sensor_id", number_partitions=4)
    )[0]
    assert actions == [{"action": "set_number_partitions", "number_partitions": 4}]


def test_space_dimension_is_never_replaced():
    with pytest.raises(PlanError, match=r"cannot be removed or replaced"):
        plan_hypertable(
            hypertable(space="value", partitions=2), desired(partitioning_column="sensor_id", number_partitions=2)
        )


def test_missing_partitioning_column():
    with pytest.raises(PlanError, match=r"partitioning_column: column 'asset_id' does not exist"):
        plan_hypertable(plain_table(), desired(partitioning_column="asset_id", number_partitions=2))


def test_sql_uses_exact_interval_literals_and_parameters():
    sql, params = action_sql(
        {
            "action": "create_hypertable",
            "time_column": "time",
            "chunk_time_interval": DAY,
            "migrate_data": True,
            "create_default_indexes": False,
        },
        '"public"."t"',
    )
    assert sql == (
        "SELECT create_hypertable(%s, by_range(%s, %s::interval),"
        " migrate_data => true, create_default_indexes => false)"
    )
    assert params == ['"public"."t"', "time", "1 days"]
    assert action_sql({"action": "set_chunk_time_interval", "chunk_time_interval": 12 * 3600}, "x") == (
        "SELECT set_chunk_time_interval(%s, %s::interval)",
        ["x", "12 hours"],
    )
