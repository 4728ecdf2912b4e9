#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: timescale_hypertable
short_description: Create or convert a TimescaleDB hypertable and keep its chunk interval converged
version_added: 0.1.0
description:
  - Turns an existing PostgreSQL table into a TimescaleDB hypertable partitioned by O(time_column),
    optionally with a hash (space) dimension.
  - Reads the current state from C(timescaledb_information.hypertables) and
    C(timescaledb_information.dimensions) and changes only what differs. A chunk interval that differs
    from O(chunk_time_interval) (edited by hand, or changed in the playbook) is corrected with
    C(set_chunk_time_interval()); the new interval applies to chunks created from then on, existing chunks keep theirs.
  - Hypertables work on both TimescaleDB editions (C(apache) and the community edition C(timescale)).
  - The module never drops or rewrites data. Converting a table that already holds rows moves those rows into
    chunks and needs O(migrate_data=true).
extends_documentation_fragment:
  - mantis.datalayer.postgres
  - mantis.datalayer.timescaledb.attributes
options:
  table:
    description:
      - The table to convert. It must exist; the module does not create tables.
      - May be schema-qualified (C(metrics.sensor_data_raw)); otherwise O(schema) is used.
    type: str
    required: true
  schema:
    description: Schema of O(table) when O(table) is not schema-qualified.
    type: str
    default: public
  time_column:
    description:
      - Column the hypertable is partitioned by. It must exist and be of type C(timestamptz), C(timestamp) or C(date).
      - The time column of an existing hypertable cannot be changed; asking for another one fails.
    type: str
    required: true
  chunk_time_interval:
    description:
      - Time range covered by one chunk, as a duration (C(1d), C(7 days), C(12h), seconds).
      - When omitted, a new hypertable gets TimescaleDB's default (7 days) and the interval of an existing
        hypertable is not compared.
    type: str
  partitioning_column:
    description:
      - Column of an optional hash (space) dimension. Added to an existing hypertable when missing
        (existing chunks are not repartitioned). A different existing space column is never replaced; the module fails.
    type: str
  number_partitions:
    description:
      - Number of hash partitions of O(partitioning_column). Corrected with C(set_number_partitions()) when it differs.
    type: int
  migrate_data:
    description:
      - Allow converting a table that already holds rows; the rows are moved into chunks inside the same
        transaction (this locks the table and takes time proportional to its size).
      - Without it, converting a non-empty table fails before anything changes.
    type: bool
    default: false
  create_default_indexes:
    description: Let TimescaleDB create its default index on the time column when converting.
    type: bool
    default: true
notes:
  - Needs TimescaleDB 2.13 or newer, preloaded (C(shared_preload_libraries)) and installed in O(login_db)
    (C(CREATE EXTENSION timescaledb)); the module fails with a message saying which is missing.
seealso:
  - module: mantis.datalayer.timescale_policy
  - module: mantis.datalayer.timescale_continuous_aggregate
  - name: create_hypertable()
    description: TimescaleDB's API reference.
    link: https://docs.timescale.com/api/latest/hypertable/create_hypertable/
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Raw sensor readings in one-day chunks
  mantis.datalayer.timescale_hypertable:
    login_db: mantis_timeseries
    table: sensor_data_raw
    time_column: time
    chunk_time_interval: 1d

- name: Convert a table that already holds rows, with 4 hash partitions per sensor
  mantis.datalayer.timescale_hypertable:
    login_db: mantis_timeseries
    table: legacy.readings
    time_column: recorded_at
    chunk_time_interval: 7 days
    partitioning_column: sensor_id
    number_partitions: 4
    migrate_data: true
"""

RETURN = r"""
hypertable:
  description: The hypertable as it is after the run (as it would be, in check mode).
  returned: success
  type: dict
  sample:
    schema: public
    table: sensor_data_raw
    time_column: time
    chunk_time_interval: 1d
    chunk_time_interval_seconds: 86400
    partitioning_column: null
    number_partitions: null
queries:
  description: The SQL statements run (in check mode, the statements that would run).
  returned: always
  type: list
  elements: str
  sample:
    - "SELECT create_hypertable('\"public\".\"sensor_data_raw\"', by_range('time', '1 days'::interval))"
timescaledb:
  description: Edition, versions and preload setting of the server.
  returned: success
  type: dict
  sample:
    edition: apache
    installed_version: 2.19.3
    available_version: 2.19.3
    shared_preload_libraries: timescaledb
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import (
    DurationError,
    human_duration,
    parse_duration,
    postgres_interval,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import postgres_argument_spec
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    apply_statements,
    exit_with_state,
    qualified_name,
    split_relation,
    timescale_session,
)

TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")


class PlanError(Exception):
    """The desired state cannot be reached without a destructive or impossible change."""


def describe(schema, table, hypertable):
    """The readable form of a hypertable used in results and diffs ({} when not a hypertable)."""
    if hypertable is None:
        return {}
    seconds = hypertable["chunk_time_interval"]
    return {
        "schema": schema,
        "table": table,
        "time_column": hypertable["time_column"],
        "chunk_time_interval": human_duration(seconds) if seconds is not None else None,
        "chunk_time_interval_seconds": seconds,
        "partitioning_column": hypertable["partitioning_column"],
        "number_partitions": hypertable["number_partitions"],
    }


def plan_hypertable(current, desired):
    """Actions that take ``current`` to ``desired``; raises PlanError when that is not allowed.

    ``current``: exists (bool), columns ({name: type}), has_rows (bool or None),
    hypertable (None or dict time_column, chunk_time_interval (seconds), partitioning_column,
    number_partitions).
    ``desired``: the module's options, chunk_time_interval already in seconds (or None).
    Returns (actions, after) where ``after`` is the hypertable as it will be.
    """
    name = "%s.%s" % (desired["schema"], desired["table"])
    if not current["exists"]:
        raise PlanError(
            "table: %s does not exist in database %r; create the table first (this module converts an existing "
            "table into a hypertable)" % (name, desired["database"])
        )
    columns = current["columns"]
    time_column = desired["time_column"]
    if time_column not in columns:
        raise PlanError(
            "time_column: column %r does not exist in table %s (its columns: %s)"
            % (time_column, name, ", ".join(sorted(columns)) or "none")
        )
    if columns[time_column] not in TIME_TYPES:
        raise PlanError(
            "time_column: column %r of table %s has type %s; this module partitions by timestamptz, timestamp or date"
            % (time_column, name, columns[time_column])
        )
    space_column = desired["partitioning_column"]
    if space_column is not None and space_column not in columns:
        raise PlanError(
            "partitioning_column: column %r does not exist in table %s (its columns: %s)"
            % (space_column, name, ", ".join(sorted(columns)))
        )

    hypertable = current["hypertable"]
    actions = []
    if hypertable is None:
        if current["has_rows"] and not desired["migrate_data"]:
            raise PlanError(
                "table %s already holds rows; converting it moves them into chunks, which needs migrate_data: true "
                "(it locks the table for the duration of the copy). Nothing was changed." % name
            )
        actions.append(
            {
                "action": "create_hypertable",
                "time_column": time_column,
                "chunk_time_interval": desired["chunk_time_interval"],
                "migrate_data": bool(current["has_rows"]),
                "create_default_indexes": desired["create_default_indexes"],
            }
        )
        after = {
            "time_column": time_column,
            # TimescaleDB's default for time columns.
            "chunk_time_interval": desired["chunk_time_interval"] or 7 * 86400,
            "partitioning_column": None,
            "number_partitions": None,
        }
    else:
        if hypertable["time_column"] != time_column:
            raise PlanError(
                "time_column: %s is a hypertable partitioned by %r; its time column cannot be changed to %r "
                "(that needs a new table and a copy of the data)" % (name, hypertable["time_column"], time_column)
            )
        after = dict(hypertable)
        wanted = desired["chunk_time_interval"]
        if wanted is not None and wanted != hypertable["chunk_time_interval"]:
            actions.append({"action": "set_chunk_time_interval", "chunk_time_interval": wanted})
            after["chunk_time_interval"] = wanted

    if space_column is not None:
        current_space = after["partitioning_column"]
        if current_space is None:
            actions.append(
                {"action": "add_dimension", "column": space_column, "number_partitions": desired["number_partitions"]}
            )
        elif current_space != space_column:
            raise PlanError(
                "partitioning_column: %s already has the hash dimension %r; a dimension cannot be removed or replaced "
                "by %r" % (name, current_space, space_column)
            )
        elif desired["number_partitions"] != after["number_partitions"]:
            actions.append({"action": "set_number_partitions", "number_partitions": desired["number_partitions"]})
        after["partitioning_column"] = space_column
        after["number_partitions"] = desired["number_partitions"]
    return actions, after


def action_sql(action, relation):
    """(statement, parameters) for one planned action on the hypertable ``relation`` (quoted, qualified)."""
    kind = action["action"]
    if kind == "create_hypertable":
        dimension = "by_range(%s)"
        params = [relation, action["time_column"]]
        if action["chunk_time_interval"] is not None:
            dimension = "by_range(%s, %s::interval)"
            params.append(postgres_interval(action["chunk_time_interval"]))
        arguments = ["%s", dimension]
        if action["migrate_data"]:
            arguments.append("migrate_data => true")
        if not action["create_default_indexes"]:
            arguments.append("create_default_indexes => false")
        return "SELECT create_hypertable(%s)" % ", ".join(arguments), params
    if kind == "set_chunk_time_interval":
        return "SELECT set_chunk_time_interval(%s, %s::interval)", [
            relation,
            postgres_interval(action["chunk_time_interval"]),
        ]
    if kind == "add_dimension":
        return "SELECT add_dimension(%s, by_hash(%s, %s))", [
            relation,
            action["column"],
            action["number_partitions"],
        ]
    if kind == "set_number_partitions":
        return "SELECT set_number_partitions(%s, %s)", [relation, action["number_partitions"]]
    raise ValueError("unknown action %r" % kind)


def read_current(session, schema, table):
    relation = session.fetch_one(
        "SELECT c.oid::bigint AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    if relation is None:
        return {"exists": False, "columns": {}, "has_rows": None, "hypertable": None}
    columns = {
        row["attname"]: row["type"]
        for row in session.fetch_all(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (relation["oid"],),
        )
    }
    dimensions = session.fetch_all(
        "SELECT column_name, dimension_type, extract(epoch FROM time_interval)::bigint AS seconds, num_partitions"
        " FROM timescaledb_information.dimensions WHERE hypertable_schema = %s AND hypertable_name = %s"
        " ORDER BY dimension_number",
        (schema, table),
    )
    hypertable = None
    has_rows = None
    if dimensions:
        time_dim = next((d for d in dimensions if d["dimension_type"] == "Time"), dimensions[0])
        space_dim = next((d for d in dimensions if d["dimension_type"] == "Space"), None)
        hypertable = {
            "time_column": time_dim["column_name"],
            "chunk_time_interval": time_dim["seconds"],
            "partitioning_column": space_dim["column_name"] if space_dim else None,
            "number_partitions": space_dim["num_partitions"] if space_dim else None,
        }
    else:
        has_rows = session.fetch_value("SELECT EXISTS (SELECT 1 FROM ONLY %s)" % qualified_name(schema, table))
    return {"exists": True, "columns": columns, "has_rows": has_rows, "hypertable": hypertable}


def main():
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        table=dict(type="str", required=True),
        schema=dict(type="str", default="public"),
        time_column=dict(type="str", required=True),
        chunk_time_interval=dict(type="str"),
        partitioning_column=dict(type="str"),
        number_partitions=dict(type="int"),
        migrate_data=dict(type="bool", default=False),
        create_default_indexes=dict(type="bool", default=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_together=[("partitioning_column", "number_partitions")],
    )
    params = module.params
    schema, table = split_relation(params["table"], params["schema"])
    try:
        chunk = params["chunk_time_interval"]
        chunk_seconds = parse_duration(chunk, "chunk_time_interval") if chunk is not None else None
    except DurationError as exc:
        module.fail_json(msg=str(exc), queries=[])
    if chunk_seconds == 0:
        module.fail_json(msg="chunk_time_interval: must be longer than 0 seconds", queries=[])
    if params["number_partitions"] is not None and params["number_partitions"] < 1:
        module.fail_json(msg="number_partitions: must be 1 or more", queries=[])

    session, server = timescale_session(module)
    current = read_current(session, schema, table)
    desired = dict(
        database=params["login_db"],
        schema=schema,
        table=table,
        time_column=params["time_column"],
        chunk_time_interval=chunk_seconds,
        partitioning_column=params["partitioning_column"],
        number_partitions=params["number_partitions"],
        migrate_data=params["migrate_data"],
        create_default_indexes=params["create_default_indexes"],
    )
    try:
        actions, after = plan_hypertable(current, desired)
    except PlanError as exc:
        module.fail_json(msg=str(exc), queries=[], timescaledb=server)

    relation = qualified_name(schema, table)
    statements = [action_sql(action, relation) for action in actions]
    apply_statements(module, session, statements, "Changing hypertable %s.%s failed" % (schema, table))
    exit_with_state(
        module,
        session,
        server,
        bool(actions),
        "hypertable",
        describe(schema, table, current["hypertable"]),
        describe(schema, table, after),
    )


if __name__ == "__main__":
    main()
