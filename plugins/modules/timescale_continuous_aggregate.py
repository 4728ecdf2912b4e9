#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: timescale_continuous_aggregate
short_description: Create a TimescaleDB continuous aggregate from a query and keep it converged
version_added: 0.1.0
description:
  - Creates a continuous aggregate (C(CREATE MATERIALIZED VIEW ... WITH (timescaledb.continuous))) from O(query),
    keeps its O(materialized_only) setting converged and drops it with O(state=absent).
  - Manages one continuous aggregate (O(name) and the options beside it) or many in one call (O(aggregates)).
    A list is handled on one connection; every entry is validated, read and planned before anything changes.
  - The definition of a continuous aggregate cannot be altered in place; changing it means dropping the view and
    its materialized data. The module records a fingerprint of O(query) in the view's comment. When the query
    changes (or the view was not created by this module), the module fails and changes nothing, unless
    O(recreate=true) allows it to drop and recreate the view.
  - Refresh policies are managed with M(mantis.datalayer.timescale_policy)
    (O(mantis.datalayer.timescale_policy#module:policy=refresh)).
  - Continuous aggregates need TimescaleDB's community edition; on the C(apache) edition the module fails before
    changing anything (or skips, see O(unsupported_edition)).
extends_documentation_fragment:
  - mantis.datalayer.postgres
  - mantis.datalayer.timescaledb.attributes
  - mantis.datalayer.timescaledb
options:
  name:
    description:
      - Name of the continuous aggregate (view); may be schema-qualified, otherwise O(schema) is used.
      - Exactly one of O(name) and O(aggregates) is required.
    type: str
  schema:
    description: Schema of O(name) when O(name) is not schema-qualified.
    type: str
    default: public
  query:
    description:
      - The aggregate's C(SELECT), grouped by a C(time_bucket()) of a hypertable's time column.
      - Compared by a fingerprint of its text with whitespace collapsed, so re-indenting it is not a change.
      - Required with O(state=present).
    type: str
  materialized_only:
    description:
      - Answer queries from materialized data only (V(true)), or add recent rows not yet materialized (V(false)).
    type: bool
    default: true
  with_data:
    description:
      - Fill the new view from the existing data (C(CALL refresh_continuous_aggregate(view, NULL, NULL))) once it is
        created. This can take long on big hypertables; the default creates the view empty and leaves filling it to
        the refresh policy.
      - The view is always created C(WITH NO DATA) inside the transaction, together with the comment that records
        its definition; the refresh runs after the commit, because it cannot run inside a transaction block. If the
        refresh fails, the view stays created and recorded, and the refresh policy fills it later.
    type: bool
    default: false
  recreate:
    description:
      - Allow dropping and recreating the view when its definition differs from O(query).
        B(This discards the materialized data); it is rebuilt from the hypertable's rows that still exist.
    type: bool
    default: false
  state:
    description: V(present) creates the view; V(absent) drops it with its materialized data.
    type: str
    choices: [present, absent]
    default: present
  aggregates:
    description:
      - Many continuous aggregates in one call, instead of O(name) and the options beside it (mutually exclusive
        with them).
      - One connection; every entry is validated, read and planned before any change (errors name the entry, such as
        C(aggregates[1].query)).
      - Every entry's statements run in one transaction, so when one entry fails nothing is changed and the next run
        starts from the same state (no view is left without the comment that records its definition).
      - O(unsupported_edition) applies to every entry. V(fail) fails before any change, naming every entry;
        V(skip) applies the other entries and warns once per skipped entry.
      - Each entry takes the single-aggregate options; see them above for details.
    type: list
    elements: dict
    suboptions:
      name:
        description: Name of the continuous aggregate, optionally schema-qualified. See O(name).
        type: str
        required: true
      schema:
        description: Schema of O(aggregates[].name) when it is not schema-qualified.
        type: str
        default: public
      query:
        description: The aggregate's C(SELECT). Required with O(aggregates[].state=present). See O(query).
        type: str
      materialized_only:
        description: Answer queries from materialized data only. See O(materialized_only).
        type: bool
        default: true
      with_data:
        description: Materialize existing data while creating the view. See O(with_data).
        type: bool
        default: false
      recreate:
        description: Allow dropping and recreating the view when its definition differs. See O(recreate).
        type: bool
        default: false
      state:
        description: V(present) creates the view; V(absent) drops it. See O(state).
        type: str
        choices: [present, absent]
        default: present
notes:
  - A continuous aggregate is a view to PostgreSQL (its data lives in a hidden hypertable), so its definition is
    recorded with C(COMMENT ON VIEW); C(DROP MATERIALIZED VIEW) and C(ALTER MATERIALIZED VIEW ... SET) are what
    TimescaleDB accepts for dropping and changing it.
seealso:
  - module: mantis.datalayer.timescale_policy
  - module: mantis.datalayer.timescale_hypertable
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Hourly averages per sensor
  mantis.datalayer.timescale_continuous_aggregate:
    login_db: mantis_timeseries
    name: sensor_data_hourly
    query: >-
      SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value, count(*) AS samples
      FROM sensor_data_raw GROUP BY bucket, sensor_id
    materialized_only: false

- name: Change the definition, accepting that materialized data is rebuilt
  mantis.datalayer.timescale_continuous_aggregate:
    login_db: mantis_timeseries
    name: sensor_data_hourly
    query: >-
      SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value, max(value) AS max_value
      FROM sensor_data_raw GROUP BY bucket, sensor_id
    recreate: true

- name: Several aggregates in one call
  mantis.datalayer.timescale_continuous_aggregate:
    login_db: mantis_timeseries
    aggregates:
      - name: sensor_data_hourly
        query: >-
          SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value
          FROM sensor_data_raw GROUP BY bucket, sensor_id
      - name: sensor_data_daily
        query: >-
          SELECT time_bucket('1 day', time) AS bucket, sensor_id, avg(value) AS avg_value
          FROM sensor_data_raw GROUP BY bucket, sensor_id
    unsupported_edition: skip
"""

RETURN = r"""
continuous_aggregate:
  description: The continuous aggregate after the run ({} when absent).
  returned: success, with O(name)
  type: dict
  sample:
    name: public.sensor_data_hourly
    materialized_only: true
    definition_fingerprint: 3f1c0e...
queries:
  description: The SQL statements run (in check mode, the statements that would run).
  returned: always
  type: list
  elements: str
skipped_features:
  description: With O(unsupported_edition=skip) on the apache edition, the features that were not applied.
  returned: when skipped
  type: list
  elements: str
results:
  description: With O(aggregates), one entry per continuous aggregate, in the order given.
  returned: success, with O(aggregates)
  type: list
  elements: dict
  contains:
    name:
      description: The entry's O(aggregates[].name), as given.
      type: str
      sample: sensor_data_hourly
    schema:
      description: The schema of the view.
      type: str
      sample: public
    label:
      description: The view as C(schema.name); the key of the entry in C(diff).
      type: str
      sample: public.sensor_data_hourly
    changed:
      description: Whether this entry changed (would change, in check mode).
      type: bool
    created:
      description: Whether the view did not exist and was created (would be created, in check mode).
      type: bool
    skipped:
      description: Whether the entry was skipped because the server's edition lacks it (O(unsupported_edition=skip)).
      type: bool
    queries:
      description: The statements of this entry.
      type: list
      elements: str
    before:
      description: The view before the run, as RV(continuous_aggregate).
      type: dict
    after:
      description: The view after the run, as RV(continuous_aggregate).
      type: dict
timescaledb:
  description: Edition, versions and preload setting of the server.
  returned: success
  type: dict
"""

import hashlib
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import postgres_argument_spec
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import (
    check_fragment,
    parse_qualified_name,
    qualified_name,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    PlanError,
    TimescaleObjects,
    edition_argument_spec,
    list_option_spec,
    run_objects,
    top_level_options,
)

COMMENT_PREFIX = "mantis.datalayer definition sha256:"


def normalized_query(query):
    return re.sub(r"\s+", " ", query.strip().rstrip(";").strip())


def query_fingerprint(query):
    return hashlib.sha256(normalized_query(query).encode("utf-8")).hexdigest()


def fingerprint_from_comment(comment):
    if comment and comment.startswith(COMMENT_PREFIX):
        return comment[len(COMMENT_PREFIX) :].strip()
    return None


def plan_continuous_aggregate(current, desired):
    """(actions, after). ``current``: None or dict materialized_only, fingerprint (None when unknown)."""
    if desired["state"] == "absent":
        return ([{"action": "drop"}] if current else []), None
    after = {"materialized_only": desired["materialized_only"], "fingerprint": desired["fingerprint"]}
    create = [{"action": "create"}, {"action": "comment"}]
    if current is None:
        return create, after
    if current["fingerprint"] != desired["fingerprint"]:
        if not desired["recreate"]:
            raise PlanError(
                "query: continuous aggregate %s exists with %s; changing it means dropping the view and its "
                "materialized data. Nothing was changed. Set recreate: true to drop and recreate it."
                % (
                    desired["label"],
                    "another definition"
                    if current["fingerprint"]
                    else "a definition not recorded by this module (created by hand?)",
                )
            )
        return [{"action": "drop"}, *create], after
    actions = []
    if current["materialized_only"] != desired["materialized_only"]:
        actions.append({"action": "set_materialized_only"})
    return actions, after


def action_sql(action, relation, desired):
    kind = action["action"]
    if kind == "drop":
        return "DROP MATERIALIZED VIEW %s" % relation, None
    if kind == "create":
        return (
            "CREATE MATERIALIZED VIEW %s WITH (timescaledb.continuous, timescaledb.materialized_only = %s)"
            " AS %s WITH NO DATA"
            % (
                relation,
                "true" if desired["materialized_only"] else "false",
                normalized_query(desired["query"]),
            ),
            None,
        )
    if kind == "comment":
        # A continuous aggregate is a view to PostgreSQL (its data lives in a hidden hypertable):
        # COMMENT ON MATERIALIZED VIEW refuses it with '... is not a materialized view'.
        return "COMMENT ON VIEW %s IS %%s" % relation, [COMMENT_PREFIX + desired["fingerprint"]]
    if kind == "set_materialized_only":
        return (
            "ALTER MATERIALIZED VIEW %s SET (timescaledb.materialized_only = %s)"
            % (relation, "true" if desired["materialized_only"] else "false"),
            None,
        )
    raise ValueError("unknown action %r" % kind)


def describe(label, state):
    if state is None:
        return {}
    return {
        "name": label,
        "materialized_only": state["materialized_only"],
        "definition_fingerprint": state["fingerprint"],
    }


def read_current(session, schema, name):
    row = session.fetch_one(
        "SELECT materialized_only, obj_description(format('%%I.%%I', view_schema, view_name)::regclass, 'pg_class')"
        " AS comment FROM timescaledb_information.continuous_aggregates WHERE view_schema = %s AND view_name = %s",
        (schema, name),
    )
    if row is None:
        other = session.fetch_value(
            "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = %s AND c.relname = %s",
            (schema, name),
        )
        if other is not None:
            raise PlanError(
                "name: %s.%s already exists and is not a continuous aggregate (relkind %s); choose another name"
                % (schema, name, other)
            )
        return None
    return {"materialized_only": row["materialized_only"], "fingerprint": fingerprint_from_comment(row["comment"])}


# The options of one continuous aggregate: the module's top-level options and the entries of O(aggregates).
ITEM_OPTIONS = dict(
    name=dict(type="str", required=True),
    schema=dict(type="str", default="public"),
    query=dict(type="str"),
    materialized_only=dict(type="bool", default=True),
    with_data=dict(type="bool", default=False),
    recreate=dict(type="bool", default=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
)


def desired_aggregate(options, label):
    if options["query"]:
        # One SELECT: nothing in it may end the CREATE statement or comment out its WITH NO DATA.
        check_fragment(options["query"].strip().rstrip(";").strip(), "query")
    return dict(
        state=options["state"],
        label=label,
        query=options["query"],
        fingerprint=query_fingerprint(options["query"]) if options["query"] else None,
        materialized_only=options["materialized_only"],
        with_data=options["with_data"],
        recreate=options["recreate"],
    )


class ContinuousAggregates(TimescaleObjects):
    list_option = "aggregates"
    name_option = "name"
    result_key = "continuous_aggregate"
    noun = "continuous aggregate"

    def desired(self, options, params):
        schema, name = parse_qualified_name(options["name"], options["schema"], "name")
        desired = desired_aggregate(options, "%s.%s" % (schema, name))
        desired.update(schema=schema, name=name, feature="continuous aggregate %s.%s" % (schema, name))
        return desired

    def read(self, session, desired):
        return read_current(session, desired["schema"], desired["name"])

    def plan(self, current, desired):
        return plan_continuous_aggregate(current, desired)

    def statements(self, actions, desired):
        relation = qualified_name(desired["schema"], desired["name"])
        return [action_sql(action, relation, desired) for action in actions]

    def finish(self, session, desired, actions, after):
        # Created WITH NO DATA inside the transaction, with its comment, so that no failure leaves
        # a view without its record; filling it cannot run inside a transaction block.
        if desired["with_data"] and any(action["action"] == "create" for action in actions):
            session.execute(
                "CALL refresh_continuous_aggregate(%s, NULL, NULL)",
                [qualified_name(desired["schema"], desired["name"])],
            )

    def describe(self, desired, state):
        return describe(desired["label"], state)

    def result_fields(self, options, desired, current):
        return {
            "name": options["name"],
            "schema": desired["schema"],
            "created": current is None and desired["state"] == "present",
        }


def module_arguments():
    """The argument spec and the checks between options (the unit tests validate with them too)."""
    argument_spec = postgres_argument_spec()
    argument_spec.update(edition_argument_spec())
    argument_spec.update(top_level_options(ITEM_OPTIONS))
    argument_spec.update(aggregates=list_option_spec(ITEM_OPTIONS, required_if=[("state", "present", ["query"])]))
    checks = dict(
        required_one_of=[("name", "aggregates")],
        mutually_exclusive=[("aggregates", option) for option in ITEM_OPTIONS],
        # The top-level state defaults to present, also beside a list.
        required_if=[("state", "present", ["query", "aggregates"], True)],
    )
    return argument_spec, checks


def main():
    argument_spec, checks = module_arguments()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **checks)
    run_objects(module, ContinuousAggregates())


if __name__ == "__main__":
    main()
