"""The list options (hypertables, policies, aggregates) against PostgreSQL 17 + TimescaleDB 2.19.

One module call handles many objects: every entry is validated and planned before any change,
hypertables and policies are applied in one transaction. Debian's server is the Apache edition:
the policy/aggregate error and skip paths run for real; the community-edition paths run in
test_community_edition.py.
"""

from __future__ import annotations

import pytest

COLUMNS = ["time timestamptz NOT NULL", "sensor_id integer NOT NULL", "value double precision"]


def hypertable_names(tsdb) -> list[str]:
    names = tsdb.sql("SELECT string_agg(hypertable_name, ',' ORDER BY 1) FROM timescaledb_information.hypertables")
    return names.split(",") if names else []


def table_exists(tsdb, name: str) -> bool:
    return tsdb.sql(f"SELECT to_regclass('public.{name}') IS NOT NULL") == "t"


def batch(*names, **overrides):
    return {
        "hypertables": [
            {"table": name, "time_column": "time", "chunk_time_interval": "1d", "columns": COLUMNS, **overrides}
            for name in names
        ]
    }


def test_check_mode_plans_the_tables_and_changes_nothing(tsdb):
    run = tsdb.run("timescale_hypertable", batch("b_raw", "b_events"), check=True, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert [(r["table"], r["created"], r["changed"]) for r in run.result["results"]] == [
        ("b_raw", True, True),
        ("b_events", True, True),
    ]
    assert run.result["queries"][0] == (
        'CREATE TABLE "public"."b_raw" (time timestamptz NOT NULL, sensor_id integer NOT NULL, value double precision)'
    )
    assert run.result["diff"]["after"]["public.b_raw"]["chunk_time_interval"] == "1d"
    assert run.result["diff"]["before"] == {"public.b_raw": {}, "public.b_events": {}}
    assert not table_exists(tsdb, "b_raw")
    assert not table_exists(tsdb, "b_events")


def test_one_call_creates_the_tables_and_hypertables_then_no_op(tsdb):
    args = batch("b_raw", "b_events")
    run = tsdb.run("timescale_hypertable", args, diff=True)
    assert not run.failed, run.output
    assert run.changed
    assert [r["created"] for r in run.result["results"]] == [True, True]
    assert {"b_raw", "b_events"} <= set(hypertable_names(tsdb))
    assert (
        tsdb.sql("SELECT time_interval FROM timescaledb_information.dimensions WHERE hypertable_name = 'b_events'")
        == "1 day"
    )
    assert run.result["results"][1]["queries"] == [
        'CREATE TABLE "public"."b_events" (time timestamptz NOT NULL, sensor_id integer NOT NULL,'
        " value double precision)",
        "SELECT create_hypertable('\"public\".\"b_events\"', by_range('time', '1 days'::interval))",
    ]

    again = tsdb.run("timescale_hypertable", args, check=True)
    assert not again.failed, again.output
    assert not again.changed
    assert again.result["queries"] == []
    again = tsdb.run("timescale_hypertable", args)
    assert not again.changed
    assert [(r["created"], r["changed"]) for r in again.result["results"]] == [(False, False), (False, False)]


def test_existing_columns_are_left_alone(tsdb):
    tsdb.sql("INSERT INTO b_raw VALUES (now(), 1, 42)")
    args = batch("b_raw")
    args["hypertables"][0]["columns"] = ["time timestamptz NOT NULL", "other text"]
    run = tsdb.run("timescale_hypertable", args)
    assert not run.failed, run.output
    assert not run.changed
    assert (
        tsdb.sql(
            "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute"
            " WHERE attrelid = 'b_raw'::regclass AND attnum > 0 AND NOT attisdropped"
        )
        == "time,sensor_id,value"
    )
    assert tsdb.sql("SELECT count(*) FROM b_raw") == "1"


def test_drift_in_one_entry_is_corrected_in_the_batch(tsdb):
    tsdb.sql("SELECT set_chunk_time_interval('b_events', interval '7 days')")
    run = tsdb.run("timescale_hypertable", batch("b_raw", "b_events"), diff=True)
    assert not run.failed, run.output
    assert [r["changed"] for r in run.result["results"]] == [False, True]
    assert run.result["diff"]["before"]["public.b_events"]["chunk_time_interval"] == "7d"
    assert run.result["queries"] == ["SELECT set_chunk_time_interval('\"public\".\"b_events\"', '1 days'::interval)"]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"chunk_time_interval": "1 fortnight"}, "hypertables[1].chunk_time_interval: '1 fortnight' is not a duration"),
        ({"time_column": "ts"}, "hypertables[1].time_column: column 'ts' does not exist in table public.b_bad"),
        # Check mode runs no definition: it reads the type as written; the real run asks the server.
        (
            {"columns": ["time timestamptzz"]},
            (
                "hypertables[1].time_column: column 'time' of table public.b_bad has type timestamptzz",
                "hypertables[1].columns: CREATE TABLE public.b_bad would fail",
            ),
        ),
        ({"columns": None}, "hypertables[1].table: public.b_bad does not exist"),
    ],
)
def test_a_bad_entry_names_its_index_and_nothing_changes(tsdb, entry, message):
    args = batch("b_new", "b_bad")
    args["hypertables"][1].update(entry)
    for check in (True, False):
        run = tsdb.run("timescale_hypertable", args, check=check)
        assert run.failed
        expected = message if isinstance(message, str) else message[0 if check else 1]
        assert expected in run.result["msg"], run.result["msg"]
        assert run.result["queries"] == []
        assert not table_exists(tsdb, "b_new")
        assert not table_exists(tsdb, "b_bad")


def test_a_failing_entry_rolls_back_the_whole_batch(tsdb):
    # Passes planning (the column exists, the table is empty), fails on the server: a unique index
    # without the time column cannot stay on a hypertable.
    tsdb.sql("CREATE TABLE b_unique (time timestamptz NOT NULL, id integer UNIQUE)")
    args = batch("b_first")
    args["hypertables"].append({"table": "b_unique", "time_column": "time"})
    run = tsdb.run("timescale_hypertable", args)
    assert run.failed
    assert "hypertables[1]: changing hypertable public.b_unique failed" in run.result["msg"]
    assert "rolled back" in run.result["msg"]
    assert not table_exists(tsdb, "b_first")
    assert "b_unique" not in hypertable_names(tsdb)


def test_duplicate_entries_are_refused(tsdb):
    run = tsdb.run("timescale_hypertable", batch("b_dup", "public.b_dup"))
    assert run.failed
    assert "hypertables[1].table: public.b_dup is also hypertables[0]" in run.result["msg"]


def test_table_and_list_are_mutually_exclusive(tsdb):
    run = tsdb.run("timescale_hypertable", {**batch("b_x"), "table": "b_x"})
    assert run.failed
    assert "mutually exclusive" in run.result["msg"]


def test_single_table_with_columns_creates_it(tsdb):
    args = {"table": "b_single", "time_column": "time", "columns": COLUMNS}
    run = tsdb.run("timescale_hypertable", args)
    assert not run.failed, run.output
    assert run.changed
    assert run.result["hypertable"]["chunk_time_interval"] == "7d"
    assert "b_single" in hypertable_names(tsdb)
    assert not tsdb.run("timescale_hypertable", args).changed


# ---------------------------------------------------------------- policies and aggregates, apache edition

POLICIES = [
    {"relation": "b_raw", "policy": "retention", "drop_after": "90d"},
    {"relation": "b_raw", "policy": "compression", "compress_after": "7d", "segmentby": ["sensor_id"]},
    {"relation": "b_events", "policy": "retention", "drop_after": "1y"},
]
HOURLY = (
    "SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value"
    " FROM b_raw GROUP BY bucket, sensor_id"
)


def jobs(tsdb) -> str:
    return tsdb.sql("SELECT count(*) FROM timescaledb_information.jobs WHERE hypertable_name LIKE 'b\\_%'")


def test_policies_fail_on_apache_naming_every_entry_before_any_change(apache_edition):
    run = apache_edition.run("timescale_policy", {"policies": POLICIES})
    assert run.failed
    message = run.result["msg"]
    for feature in (
        "retention policy on public.b_raw",
        "compression policy on public.b_raw",
        "retention policy on public.b_events",
    ):
        assert feature in message
    assert '"apache" edition' in message
    assert run.result["queries"] == []
    assert jobs(apache_edition) == "0"


def test_policies_skip_on_apache_warns_per_entry_and_applies_the_rest(apache_edition):
    absent = {"relation": "b_events", "policy": "compression", "state": "absent"}
    run = apache_edition.run("timescale_policy", {"policies": [*POLICIES, absent], "unsupported_edition": "skip"})
    assert not run.failed, run.output
    assert not run.changed
    assert [(r["skipped"], r["changed"]) for r in run.result["results"]] == [(True, False)] * 3 + [(False, False)]
    assert run.result["skipped_features"] == [
        "retention policy on public.b_raw",
        "compression policy on public.b_raw",
        "retention policy on public.b_events",
    ]
    warnings = run.result.get("warnings", [])
    assert len(warnings) == 3
    assert any("policies[1]: compression policy on public.b_raw" in w for w in warnings)
    assert jobs(apache_edition) == "0"


def test_policies_bad_entry_names_its_index(tsdb):
    policies = [*POLICIES[:2], {"relation": "b_raw", "policy": "retention", "drop_after": "90 dayz"}]
    run = tsdb.run("timescale_policy", {"policies": policies})
    assert run.failed
    assert "policies[2].drop_after: '90 dayz' is not a duration" in run.result["msg"]


def test_policy_on_a_missing_relation_names_its_index(tsdb):
    policies = [{"relation": "b_raw", "policy": "retention", "state": "absent"}]
    policies.append({"relation": "b_nowhere", "policy": "retention", "state": "absent"})
    run = tsdb.run("timescale_policy", {"policies": policies})
    assert run.failed
    assert "policies[1].relation: public.b_nowhere is neither a hypertable" in run.result["msg"]


def test_aggregates_fail_or_skip_on_apache(apache_edition):
    aggregates = [
        {"name": "b_hourly", "query": HOURLY},
        {"name": "b_daily", "query": HOURLY.replace("1 hour", "1 day")},
    ]
    run = apache_edition.run("timescale_continuous_aggregate", {"aggregates": aggregates})
    assert run.failed
    assert "continuous aggregate public.b_hourly, continuous aggregate public.b_daily" in run.result["msg"]
    assert run.result["queries"] == []

    run = apache_edition.run(
        "timescale_continuous_aggregate", {"aggregates": aggregates, "unsupported_edition": "skip"}, check=True
    )
    assert not run.failed, run.output
    assert not run.changed
    assert [r["skipped"] for r in run.result["results"]] == [True, True]
    assert len(run.result.get("warnings", [])) == 2
    assert apache_edition.sql("SELECT count(*) FROM pg_class WHERE relname IN ('b_hourly', 'b_daily')") == "0"


def test_aggregates_need_a_query_when_present(tsdb):
    run = tsdb.run("timescale_continuous_aggregate", {"aggregates": [{"name": "b_hourly"}]})
    assert run.failed
    assert "query" in run.result["msg"]
