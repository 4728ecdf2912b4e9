#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: timescale_hypertable
short_description: Create or convert TimescaleDB hypertables and keep their chunk intervals converged
version_added: 0.1.0
description:
  - Turns a PostgreSQL table into a TimescaleDB hypertable partitioned by O(time_column),
    optionally with a hash (space) dimension. With O(columns), a table that does not exist yet is created first,
    in the same transaction.
  - Manages one hypertable (O(table) and the options beside it) or many in one call (O(hypertables)). A list is
    handled on one connection; every entry is validated, read and planned before anything changes, and all
    changes run in one transaction, so a failing entry leaves every table as it was.
  - Reads the current state from C(timescaledb_information.hypertables) and
    C(timescaledb_information.dimensions) and changes only what differs. A chunk interval that differs
    from O(chunk_time_interval) (edited by hand, or changed in the playbook) is corrected with
    C(set_chunk_time_interval()); the new interval applies to chunks created from then on, existing chunks keep theirs.
  - Hypertables work on both TimescaleDB editions (C(apache) and the community edition C(timescale)).
  - The module never drops or rewrites data. Converting a table that already holds rows moves those rows into
    chunks and needs O(migrate_data=true). The columns of an existing table are never added, altered or dropped,
    whatever O(columns) says.
extends_documentation_fragment:
  - mantis.datalayer.postgres
  - mantis.datalayer.timescaledb.attributes
options:
  table:
    description:
      - The table to convert (or, with O(columns), to create when it does not exist).
      - May be schema-qualified (C(metrics.sensor_data_raw)); otherwise O(schema) is used.
      - Exactly one of O(table) and O(hypertables) is required.
    type: str
  schema:
    description: Schema of O(table) when O(table) is not schema-qualified.
    type: str
    default: public
  time_column:
    description:
      - Column the hypertable is partitioned by. It must exist and be of type C(timestamptz), C(timestamp) or C(date).
      - The time column of an existing hypertable cannot be changed; asking for another one fails.
      - Required with O(table).
    type: str
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
  columns:
    description:
      - SQL column (and table constraint) definitions, such as C(time timestamptz NOT NULL). When O(table) does not
        exist, it is created with them (C(CREATE TABLE)) and made a hypertable in the same transaction.
      - Each entry must be one definition. A C(;) outside quotes, a C()) closing more than the entry opens,
        a comment, or a quote or parenthesis left open fails with a message naming the entry (C(columns[2])),
        before anything runs; quoted strings, quoted identifiers and dollar quotes may hold any of these.
      - In check mode nothing of them is executed; a missing table is reported with the C(CREATE TABLE) that
        would create it, its columns read from the definitions. A real run has the server check the definitions
        (in a savepoint that is rolled back) before changing anything.
      - Used only to create a missing table. The columns of an existing table are left alone (never added,
        altered or dropped), so user data is never touched; change them with migrations.
      - Without it, O(table) must exist.
    type: list
    elements: str
  hypertables:
    description:
      - Many hypertables in one call, instead of O(table) and the options beside it (mutually exclusive with them).
      - One connection; every entry is validated and planned before any change (errors name the entry, such as
        C(hypertables[2].chunk_time_interval)); all changes run in one transaction, so when one entry fails
        nothing is changed.
      - Each entry takes the single-table options; see them above for details.
    type: list
    elements: dict
    suboptions:
      table:
        description: The table, optionally schema-qualified. See O(table).
        type: str
        required: true
      schema:
        description: Schema of O(hypertables[].table) when it is not schema-qualified.
        type: str
        default: public
      time_column:
        description: Column the hypertable is partitioned by. See O(time_column).
        type: str
        required: true
      chunk_time_interval:
        description: Time range covered by one chunk. See O(chunk_time_interval).
        type: str
      partitioning_column:
        description: Column of an optional hash dimension. See O(partitioning_column).
        type: str
      number_partitions:
        description: Number of hash partitions. See O(number_partitions).
        type: int
      migrate_data:
        description: Allow converting a table that holds rows. See O(migrate_data).
        type: bool
        default: false
      create_default_indexes:
        description: Let TimescaleDB create its default time index. See O(create_default_indexes).
        type: bool
        default: true
      columns:
        description: Column definitions to create the table with when it is missing. See O(columns).
        type: list
        elements: str
notes:
  - Needs TimescaleDB 2.18 or newer installed in O(login_db) (C(CREATE EXTENSION timescaledb), which needs it
    preloaded in C(shared_preload_libraries)); the module fails with a message saying which is missing.
    Tested with 2.19 (Debian 13's C(apache) edition) and 2.23 (the community edition, in PGlite).
  - Creates hypertables with the generalized C(create_hypertable(relation, by_range(column, interval))) of
    TimescaleDB 2.13 and newer.
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

- name: Create the tables (when missing) and their hypertables in one transaction
  mantis.datalayer.timescale_hypertable:
    login_db: mantis_timeseries
    hypertables:
      - table: sensor_data_raw
        time_column: time
        chunk_time_interval: 1d
        columns:
          - time timestamptz NOT NULL
          - sensor_id uuid NOT NULL
          - value double precision
      - table: system_events
        time_column: time
        columns: [time timestamptz NOT NULL, message text]
  register: hypertables

- name: Tables a dry run would create (later steps cannot read them yet)
  ansible.builtin.debug:
    msg: "{{ hypertables.results | selectattr('created') | map(attribute='table') | list }}"
"""

RETURN = r"""
hypertable:
  description: The hypertable as it is after the run (as it would be, in check mode).
  returned: success, with O(table)
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
results:
  description: With O(hypertables), one entry per hypertable, in the order given.
  returned: success, with O(hypertables)
  type: list
  elements: dict
  contains:
    table:
      description: The entry's O(hypertables[].table), as given.
      type: str
      sample: sensor_data_raw
    schema:
      description: The schema of the table.
      type: str
      sample: public
    label:
      description: The table as C(schema.table); the key of the entry in C(diff).
      type: str
      sample: public.sensor_data_raw
    changed:
      description: Whether this entry changed (would change, in check mode).
      type: bool
    created:
      description: Whether the table did not exist and was created (would be created, in check mode).
      type: bool
    queries:
      description: The statements of this entry.
      type: list
      elements: str
    before:
      description: The hypertable before the run, as RV(hypertable) ({} when it was none).
      type: dict
    after:
      description: The hypertable after the run, as RV(hypertable).
      type: dict
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
    human_duration,
    parse_duration,
    postgres_interval,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import postgres_argument_spec, server_message
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import (
    check_fragment,
    column_name_and_type,
    parse_identifier,
    parse_qualified_name,
    qualified_name,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    PlanError,
    TimescaleObjects,
    list_option_spec,
    run_objects,
    top_level_options,
)

TIME_TYPES = ("timestamp with time zone", "timestamp without time zone", "date")


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
    actions = []
    if not current["exists"]:
        if not desired.get("columns"):
            raise PlanError(
                "table: %s does not exist in database %r; create the table first, or give its columns to have "
                "this module create it" % (name, desired["database"])
            )
        actions.append({"action": "create_table", "columns": desired["columns"]})
    # For a table still to be created, the columns its CREATE TABLE would give it (see probe_new_table).
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


def create_table_sql(relation, columns):
    return "CREATE TABLE %s (%s)" % (relation, ", ".join(columns))


def action_sql(action, relation):
    """(statement, parameters) for one planned action on the hypertable ``relation`` (quoted, qualified)."""
    kind = action["action"]
    if kind == "create_table":
        return create_table_sql(relation, action["columns"]), None
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


def table_columns(session, oid):
    return {
        row["attname"]: row["type"]
        for row in session.fetch_all(
            "SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped",
            (oid,),
        )
    }


def probe_new_table(session, schema, table, columns):
    """The columns (name -> type) ``CREATE TABLE`` with ``columns`` would give; raises PlanError if it would fail.

    Only in a real run: the statement (whose definitions check_fragment has already vetted) runs
    inside a savepoint that is always rolled back, so the server checks the definitions before any
    change and nothing is left behind. Check mode reads the definitions instead (planned_columns).
    """
    with session.conn.cursor() as cursor:
        cursor.execute("SAVEPOINT mantis_probe")
        try:
            cursor.execute(create_table_sql(qualified_name(schema, table), columns))
            cursor.execute("SELECT %s::regclass::oid::bigint", (qualified_name(schema, table),))
            return table_columns(session, cursor.fetchone()[0])
        except Exception as exc:  # psycopg2.Error: the server names the bad definition
            raise PlanError(
                "columns: CREATE TABLE %s.%s would fail: %s" % (schema, table, server_message(exc))
            ) from None
        finally:
            cursor.execute("ROLLBACK TO SAVEPOINT mantis_probe")


def planned_columns(definitions):
    """The columns (name -> type) CREATE TABLE would give, read from the definitions without a server.

    Check mode executes nothing the user wrote, so a missing table's columns are taken from
    its definitions; a real run asks the server (probe_new_table).
    """
    columns = {}
    for index, definition in enumerate(definitions):
        name, column_type = column_name_and_type(definition, "columns[%d]" % index)
        if name is not None:
            columns[name] = column_type
    return columns


def read_current(session, schema, table, new_columns=None, probe=True):
    """The table as it is; a missing table with ``new_columns`` is described as CREATE TABLE would make it.

    ``probe``: ask the server (a real run), or read the definitions (check mode).
    """
    relation = session.fetch_one(
        "SELECT c.oid::bigint AS oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')",
        (schema, table),
    )
    if relation is None:
        if not new_columns:
            columns = {}
        elif probe:
            columns = probe_new_table(session, schema, table, new_columns)
        else:
            columns = planned_columns(new_columns)
        return {"exists": False, "columns": columns, "has_rows": False, "hypertable": None}
    columns = table_columns(session, relation["oid"])
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


# The options of one hypertable: the module's top-level options and the entries of O(hypertables).
ITEM_OPTIONS = dict(
    table=dict(type="str", required=True),
    schema=dict(type="str", default="public"),
    time_column=dict(type="str", required=True),
    chunk_time_interval=dict(type="str"),
    partitioning_column=dict(type="str"),
    number_partitions=dict(type="int"),
    migrate_data=dict(type="bool", default=False),
    create_default_indexes=dict(type="bool", default=True),
    columns=dict(type="list", elements="str"),
)


def desired_hypertable(options, database):
    """One hypertable's options in the plan's terms (chunk interval in seconds); raises PlanError/DurationError."""
    schema, table = parse_qualified_name(options["table"], options["schema"], "table")
    chunk = options["chunk_time_interval"]
    chunk_seconds = parse_duration(chunk, "chunk_time_interval") if chunk is not None else None
    if chunk_seconds == 0:
        raise PlanError("chunk_time_interval: must be longer than 0 seconds")
    if options["number_partitions"] is not None and options["number_partitions"] < 1:
        raise PlanError("number_partitions: must be 1 or more")
    if options["columns"] is not None and not [column for column in options["columns"] if column.strip()]:
        raise PlanError("columns: lists no column; give the SQL column definitions of the table")
    # Each definition is one piece of the CREATE TABLE: nothing in it may end the statement.
    for index, column in enumerate(options["columns"] or []):
        check_fragment(column, "columns[%d]" % index)
    space_column = options["partitioning_column"]
    return dict(
        database=database,
        schema=schema,
        table=table,
        time_column=parse_identifier(options["time_column"], "time_column"),
        chunk_time_interval=chunk_seconds,
        partitioning_column=parse_identifier(space_column, "partitioning_column") if space_column else None,
        number_partitions=options["number_partitions"],
        migrate_data=options["migrate_data"],
        create_default_indexes=options["create_default_indexes"],
        columns=[column for column in options["columns"] if column.strip()] if options["columns"] else None,
    )


class Hypertables(TimescaleObjects):
    list_option = "hypertables"
    name_option = "table"
    result_key = "hypertable"
    noun = "hypertable"

    def desired(self, options, params):
        desired = desired_hypertable(options, params["login_db"])
        desired.update(label="%s.%s" % (desired["schema"], desired["table"]), state="present", feature=None)
        return desired

    def read(self, session, desired):
        return read_current(
            session, desired["schema"], desired["table"], desired["columns"], probe=not session.module.check_mode
        )

    def plan(self, current, desired):
        return plan_hypertable(current, desired)

    def statements(self, actions, desired):
        relation = qualified_name(desired["schema"], desired["table"])
        return [action_sql(action, relation) for action in actions]

    def describe(self, desired, state):
        return describe(desired["schema"], desired["table"], state)

    def describe_before(self, desired, current):
        return self.describe(desired, current["hypertable"])

    def result_fields(self, options, desired, current):
        return {"table": options["table"], "schema": desired["schema"], "created": not current["exists"]}


def module_arguments():
    """The argument spec and the checks between options (the unit tests validate with them too)."""
    argument_spec = postgres_argument_spec()
    argument_spec.update(top_level_options(ITEM_OPTIONS))
    argument_spec.update(
        hypertables=list_option_spec(ITEM_OPTIONS, required_together=[("partitioning_column", "number_partitions")])
    )
    checks = dict(
        required_one_of=[("table", "hypertables")],
        mutually_exclusive=[("hypertables", option) for option in ITEM_OPTIONS],
        required_by={"table": "time_column"},
        required_together=[("partitioning_column", "number_partitions")],
    )
    return argument_spec, checks


def main():
    argument_spec, checks = module_arguments()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **checks)
    run_objects(module, Hypertables())


if __name__ == "__main__":
    main()
