#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: timescale_policy
short_description: Keep a TimescaleDB retention, compression or continuous-aggregate refresh policy converged
version_added: 0.1.0
description:
  - Creates, corrects and removes a background policy of a hypertable or continuous aggregate, one
    (O(relation) and the options beside it) or many in one call (O(policies)). A list is handled on one
    connection; every entry is validated, read and planned before anything changes, and all changes run in one
    transaction, so a failing entry leaves every policy as it was.
  - TimescaleDB's own C(add_*_policy(..., if_not_exists => true)) keeps an existing policy with its old arguments and
    only prints a warning. This module reads the policy from C(timescaledb_information.jobs), compares its C(config)
    and schedule with the options, and corrects drift with C(alter_job()), or removes and re-adds the policy when its
    configuration is of another kind (for example C(drop_created_before) instead of C(drop_after)).
  - For O(policy=compression) it also keeps the compression (columnstore) settings O(segmentby) and O(orderby)
    converged. Since TimescaleDB 2.18 compression is called the columnstore; the module adds the policy with
    C(CALL add_columnstore_policy(...)) and sets C(timescaledb.enable_columnstore), C(timescaledb.segmentby) and
    C(timescaledb.orderby). The job it creates is the same C(policy_compression) job, with C(compress_after) in its
    configuration, so policies added with the older C(add_compression_policy()) are read and kept converged too.
  - All three policies need TimescaleDB's community edition; on the C(apache) edition the module fails before
    changing anything (or skips, see O(unsupported_edition)).
extends_documentation_fragment:
  - mantis.datalayer.postgres
  - mantis.datalayer.timescaledb.attributes
  - mantis.datalayer.timescaledb
options:
  relation:
    description:
      - The hypertable (retention, compression) or continuous aggregate (retention, refresh) the policy belongs to.
      - May be schema-qualified; otherwise O(schema) is used.
      - Exactly one of O(relation) and O(policies) is required.
    type: str
    aliases: [hypertable, continuous_aggregate]
  schema:
    description: Schema of O(relation) when O(relation) is not schema-qualified.
    type: str
    default: public
  policy:
    description: Which policy to manage. Required with O(relation).
    type: str
    choices: [retention, compression, refresh]
  state:
    description:
      - V(present) creates the policy or corrects it; V(absent) removes the policy.
      - Removing a compression policy leaves the compression settings and already compressed chunks as they are.
    type: str
    choices: [present, absent]
    default: present
  drop_after:
    description: For O(policy=retention), drop chunks whose data is older than this duration (C(90d), C(1y)).
    type: str
  compress_after:
    description: For O(policy=compression), compress chunks whose data is older than this duration (C(7d)).
    type: str
  segmentby:
    description:
      - For O(policy=compression), the columns compressed data is segmented by (C(timescaledb.segmentby), called
        C(timescaledb.compress_segmentby) before TimescaleDB 2.18).
      - Omitted means not compared; an empty list means no segmenting.
    type: list
    elements: str
  orderby:
    description:
      - For O(policy=compression), the order inside compressed segments (C(timescaledb.orderby), called
        C(timescaledb.compress_orderby) before TimescaleDB 2.18),
        one entry per column, such as C(time DESC).
      - Omitted means not compared (TimescaleDB orders by the time column, descending).
    type: list
    elements: str
  start_offset:
    description:
      - For O(policy=refresh), the start of the refresh window, as a duration before now.
      - Omitted means the window starts at the oldest data.
    type: str
  end_offset:
    description: For O(policy=refresh), the end of the refresh window, as a duration before now. Required for refresh.
    type: str
  schedule_interval:
    description:
      - How often the policy job runs. Omitted means TimescaleDB's default when the policy is added
        (1 hour for refresh policies) and not compared afterwards.
    type: str
  policies:
    description:
      - Many policies in one call, instead of O(relation) and the options beside it (mutually exclusive with them).
      - One connection; every entry is validated and planned before any change (errors name the entry, such as
        C(policies[2].drop_after)); all changes run in one transaction, so when one entry fails nothing is changed.
      - O(unsupported_edition) applies to every entry. On the C(apache) edition V(fail) fails before any change,
        naming every entry the edition cannot serve; V(skip) applies the other entries and warns once per skipped
        entry (each marked C(skipped) in RV(results)).
      - Each entry takes the single-policy options; see them above for details.
    type: list
    elements: dict
    suboptions:
      relation:
        description: The hypertable or continuous aggregate, optionally schema-qualified. See O(relation).
        type: str
        required: true
        aliases: [hypertable, continuous_aggregate]
      schema:
        description: Schema of O(policies[].relation) when it is not schema-qualified.
        type: str
        default: public
      policy:
        description: Which policy to manage. See O(policy).
        type: str
        required: true
        choices: [retention, compression, refresh]
      state:
        description: V(present) creates or corrects the policy; V(absent) removes it. See O(state).
        type: str
        choices: [present, absent]
        default: present
      drop_after:
        description: Retention age. See O(drop_after).
        type: str
      compress_after:
        description: Compression age. See O(compress_after).
        type: str
      segmentby:
        description: Compression segmenting columns. See O(segmentby).
        type: list
        elements: str
      orderby:
        description: Order inside compressed segments. See O(orderby).
        type: list
        elements: str
      start_offset:
        description: Start of the refresh window. See O(start_offset).
        type: str
      end_offset:
        description: End of the refresh window. See O(end_offset).
        type: str
      schedule_interval:
        description: How often the policy job runs. See O(schedule_interval).
        type: str
seealso:
  - module: mantis.datalayer.timescale_hypertable
  - module: mantis.datalayer.timescale_continuous_aggregate
  - name: alter_job()
    description: TimescaleDB's API reference.
    link: https://docs.timescale.com/api/latest/jobs-automation/alter_job/
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Keep raw sensor data for 90 days
  mantis.datalayer.timescale_policy:
    login_db: mantis_timeseries
    relation: sensor_data_raw
    policy: retention
    drop_after: 90d

- name: Compress raw data after 7 days, segmented by sensor
  mantis.datalayer.timescale_policy:
    login_db: mantis_timeseries
    relation: sensor_data_raw
    policy: compression
    compress_after: 7 days
    segmentby: [sensor_id]
    orderby: [time DESC]

- name: Refresh the hourly aggregate every 30 minutes over the last 3 days
  mantis.datalayer.timescale_policy:
    login_db: mantis_timeseries
    relation: sensor_data_hourly
    policy: refresh
    start_offset: 3d
    end_offset: 1h
    schedule_interval: 30m

- name: On the apache edition, report instead of failing
  mantis.datalayer.timescale_policy:
    login_db: mantis_timeseries
    relation: system_events
    policy: retention
    drop_after: 90d
    unsupported_edition: skip

- name: Retention and compression of several hypertables in one call (one transaction)
  mantis.datalayer.timescale_policy:
    login_db: mantis_timeseries
    policies:
      - relation: sensor_data_raw
        policy: retention
        drop_after: 90d
      - relation: sensor_data_raw
        policy: compression
        compress_after: 7d
        segmentby: [sensor_id]
      - relation: system_events
        policy: retention
        drop_after: 90d
    unsupported_edition: skip
"""

RETURN = r"""
policy:
  description: The policy as it is after the run ({} when absent).
  returned: success, with O(relation)
  type: dict
  sample:
    policy: retention
    relation: public.sensor_data_raw
    job_id: 1000
    drop_after: 90d
    schedule_interval: 1d
queries:
  description: The SQL statements run (in check mode, the statements that would run).
  returned: always
  type: list
  elements: str
  sample:
    - "SELECT alter_job(1000, config => '{\"drop_after\": \"90 days\", \"hypertable_id\": 1}'::jsonb)"
skipped_features:
  description: With O(unsupported_edition=skip) on the apache edition, the features that were not applied.
  returned: when skipped
  type: list
  elements: str
  sample: [retention policy on public.system_events]
results:
  description: With O(policies), one entry per policy, in the order given.
  returned: success, with O(policies)
  type: list
  elements: dict
  contains:
    relation:
      description: The entry's O(policies[].relation), as given.
      type: str
      sample: sensor_data_raw
    schema:
      description: The schema of the relation.
      type: str
      sample: public
    policy:
      description: The entry's O(policies[].policy).
      type: str
      sample: retention
    label:
      description: The policy in words; the key of the entry in C(diff).
      type: str
      sample: retention policy on public.sensor_data_raw
    changed:
      description: Whether this entry changed (would change, in check mode).
      type: bool
    skipped:
      description: Whether the entry was skipped because the server's edition lacks it (O(unsupported_edition=skip)).
      type: bool
    queries:
      description: The statements of this entry.
      type: list
      elements: str
    before:
      description: The policy before the run, as RV(policy).
      type: dict
    after:
      description: The policy after the run, as RV(policy).
      type: dict
timescaledb:
  description: Edition, versions and preload setting of the server.
  returned: success
  type: dict
  sample:
    edition: timescale
    installed_version: 2.19.3
"""

import json
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import (
    human_duration,
    parse_duration,
    postgres_interval,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import postgres_argument_spec
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import (
    SqlInputError,
    name_text,
    parse_identifier,
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

# policy -> (job procedure, config keys holding durations, add call, remove call).
# Since TimescaleDB 2.18 compression is the columnstore: add_columnstore_policy and
# remove_columnstore_policy are procedures (CALL), whose age argument is named `after`;
# the job's config still names it compress_after.
POLICIES = {
    "retention": ("policy_retention", ("drop_after",), "SELECT add_retention_policy", "SELECT remove_retention_policy"),
    "compression": (
        "policy_compression",
        ("compress_after",),
        "CALL add_columnstore_policy",
        "CALL remove_columnstore_policy",
    ),
    "refresh": (
        "policy_refresh_continuous_aggregate",
        ("start_offset", "end_offset"),
        "SELECT add_continuous_aggregate_policy",
        "SELECT remove_continuous_aggregate_policy",
    ),
}

# The argument of the add call that sets a config key, where the two names differ.
ADD_ARGUMENT_NAMES = {"compress_after": "after"}

FEATURE_NAMES = {
    "retention": "retention policy",
    "compression": "compression policy",
    "refresh": "continuous aggregate refresh policy",
}

# add_continuous_aggregate_policy() has no default schedule.
DEFAULT_REFRESH_SCHEDULE = 3600


def parse_orderby(entry, option="orderby"):
    """'time DESC' -> ('time', False); 'sensor_id' -> ('sensor_id', True); '"Zeit" ASC' -> ('Zeit', True)."""
    match = re.match(r"^\s*(.+?)(?:\s+(ASC|DESC))?\s*$", entry or "", re.IGNORECASE)
    if not match:
        raise PlanError("%s: %r is not '<column> [ASC|DESC]'" % (option, entry))
    try:
        column = parse_identifier(match.group(1), option)
    except SqlInputError:
        raise PlanError("%s: %r is not '<column> [ASC|DESC]'" % (option, entry)) from None
    return column, not (match.group(2) or "").upper() == "DESC"


def orderby_text(orderby):
    return ", ".join("%s%s" % (name_text(column), "" if ascending else " DESC") for column, ascending in orderby)


def describe(policy, relation, job):
    if job is None:
        return {}
    described = {"policy": policy, "relation": relation, "job_id": job.get("job_id")}
    for key in POLICIES[policy][1]:
        seconds = job["durations"].get(key)
        described[key] = human_duration(seconds) if seconds is not None else None
    schedule = job.get("schedule_interval")
    described["schedule_interval"] = human_duration(schedule) if schedule is not None else None
    if policy == "compression":
        described["segmentby"] = job.get("segmentby")
        described["orderby"] = orderby_text(job["orderby"]) if job.get("orderby") is not None else None
    return described


def plan_policy(current, desired):
    """(actions, after) taking ``current`` to ``desired``.

    ``current``: job (None or dict job_id, config (dict), durations ({key: seconds or None, missing keys absent}),
    schedule_interval (seconds)), compression (dict enabled, segmentby (list), orderby (list of (column, asc))).
    ``desired``: state, policy, durations ({key: seconds or None}), schedule_interval (seconds or None),
    segmentby (list or None), orderby (list of (column, asc) or None).
    """
    policy = desired["policy"]
    job = current["job"]
    if desired["state"] == "absent":
        return ([{"action": "remove"}] if job else []), None

    actions = []
    after = {"job_id": job["job_id"] if job else None, "durations": dict(desired["durations"])}
    if policy == "compression":
        settings = current["compression"]
        segmentby = desired["segmentby"] if desired["segmentby"] is not None else settings["segmentby"]
        orderby = desired["orderby"] if desired["orderby"] is not None else settings["orderby"]
        if not settings["enabled"] or segmentby != settings["segmentby"] or orderby != settings["orderby"]:
            actions.append(
                {
                    "action": "set_compression",
                    "segmentby": desired["segmentby"],
                    "orderby": desired["orderby"],
                }
            )
        after["segmentby"] = segmentby
        after["orderby"] = orderby

    if job is None:
        schedule = desired["schedule_interval"]
        if schedule is None and policy == "refresh":
            schedule = DEFAULT_REFRESH_SCHEDULE
        actions.append({"action": "add", "durations": desired["durations"], "schedule_interval": schedule})
        after["schedule_interval"] = schedule
        return actions, after

    after["schedule_interval"] = job["schedule_interval"]
    keys = POLICIES[policy][1]
    if any(key not in job["durations"] for key in keys):
        # A policy of another kind (created_before instead of an age): alter_job cannot turn one into the other.
        schedule = desired["schedule_interval"] or job["schedule_interval"]
        actions.append({"action": "remove"})
        actions.append({"action": "add", "durations": desired["durations"], "schedule_interval": schedule})
        after["schedule_interval"] = schedule
        after["job_id"] = None
        return actions, after

    change = {}
    if any(job["durations"][key] != desired["durations"][key] for key in keys):
        config = dict(job["config"])
        for key in keys:
            seconds = desired["durations"][key]
            config[key] = postgres_interval(seconds) if seconds is not None else None
        change["config"] = config
    wanted_schedule = desired["schedule_interval"]
    if wanted_schedule is not None and wanted_schedule != job["schedule_interval"]:
        change["schedule_interval"] = wanted_schedule
        after["schedule_interval"] = wanted_schedule
    if change:
        change.update(action="alter_job", job_id=job["job_id"])
        actions.append(change)
    return actions, after


def action_sql(action, policy, relation, relation_regclass):
    """(statement, parameters) for one planned action."""
    kind = action["action"]
    keys, add_call, remove_call = POLICIES[policy][1:]
    if kind == "remove":
        return "%s(%%s)" % remove_call, [relation_regclass]
    if kind == "add":
        arguments = ["%s"]
        params = [relation_regclass]
        for key in keys:
            seconds = action["durations"][key]
            arguments.append("%s => %%s::interval" % ADD_ARGUMENT_NAMES.get(key, key))
            params.append(postgres_interval(seconds) if seconds is not None else None)
        if action["schedule_interval"] is not None:
            arguments.append("schedule_interval => %s::interval")
            params.append(postgres_interval(action["schedule_interval"]))
        return "%s(%s)" % (add_call, ", ".join(arguments)), params
    if kind == "alter_job":
        arguments = ["%s"]
        params = [action["job_id"]]
        if "config" in action:
            arguments.append("config => %s::jsonb")
            params.append(json.dumps(action["config"], sort_keys=True))
        if "schedule_interval" in action:
            arguments.append("schedule_interval => %s::interval")
            params.append(postgres_interval(action["schedule_interval"]))
        return "SELECT alter_job(%s)" % ", ".join(arguments), params
    if kind == "set_compression":
        options = ["timescaledb.enable_columnstore = true"]
        params = []
        if action["segmentby"] is not None:
            options.append("timescaledb.segmentby = %s")
            params.append(", ".join(name_text(column) for column in action["segmentby"]))
        if action["orderby"] is not None:
            options.append("timescaledb.orderby = %s")
            params.append(orderby_text(action["orderby"]))
        return "ALTER TABLE %s SET (%s)" % (relation, ", ".join(options)), params
    raise ValueError("unknown action %r" % kind)


def read_current(session, policy, schema, name):
    """The policy's job and (for compression) the compression settings of the relation."""
    hypertable_id = session.fetch_value(
        "SELECT id FROM _timescaledb_catalog.hypertable WHERE schema_name = %s AND table_name = %s", (schema, name)
    )
    is_cagg = False
    if hypertable_id is None:
        hypertable_id = session.fetch_value(
            "SELECT mat_hypertable_id FROM _timescaledb_catalog.continuous_agg"
            " WHERE user_view_schema = %s AND user_view_name = %s",
            (schema, name),
        )
        is_cagg = hypertable_id is not None
    if hypertable_id is None:
        raise PlanError(
            "relation: %s.%s is neither a hypertable nor a continuous aggregate in this database" % (schema, name)
        )
    if policy == "refresh" and not is_cagg:
        raise PlanError(
            "relation: %s.%s is a hypertable; refresh policies belong to continuous aggregates" % (schema, name)
        )
    if policy == "compression" and is_cagg:
        raise PlanError(
            "relation: %s.%s is a continuous aggregate; this module compresses hypertables" % (schema, name)
        )
    id_key = "mat_hypertable_id" if policy == "refresh" else "hypertable_id"
    rows = session.fetch_all(
        "SELECT job_id, config, extract(epoch FROM schedule_interval)::bigint AS schedule_interval"
        " FROM timescaledb_information.jobs WHERE proc_name = %s AND (config->>%s)::int = %s ORDER BY job_id",
        (POLICIES[policy][0], id_key, hypertable_id),
    )
    job = None
    if rows:
        row = rows[0]
        durations = {}
        for key in POLICIES[policy][1]:
            if key in row["config"]:
                value = row["config"][key]
                durations[key] = (
                    None
                    if value is None
                    else session.fetch_value("SELECT extract(epoch FROM %s::interval)::bigint", (value,))
                )
        job = {
            "job_id": row["job_id"],
            "config": row["config"],
            "durations": durations,
            "schedule_interval": row["schedule_interval"],
        }
    compression = None
    if policy == "compression":
        enabled = session.fetch_value(
            "SELECT compression_enabled FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = %s AND hypertable_name = %s",
            (schema, name),
        )
        settings = session.fetch_all(
            "SELECT attname, segmentby_column_index, orderby_column_index, orderby_asc"
            " FROM timescaledb_information.compression_settings"
            " WHERE hypertable_schema = %s AND hypertable_name = %s",
            (schema, name),
        )
        segmentby = [
            r["attname"]
            for r in sorted(settings, key=lambda r: r["segmentby_column_index"] or 0)
            if r["segmentby_column_index"] is not None
        ]
        orderby = [
            (r["attname"], bool(r["orderby_asc"]))
            for r in sorted(settings, key=lambda r: r["orderby_column_index"] or 0)
            if r["orderby_column_index"] is not None
        ]
        compression = {"enabled": bool(enabled), "segmentby": segmentby, "orderby": orderby}
    return {"job": job, "compression": compression}


def desired_state(params):
    """The options in the plan's terms (durations in seconds); raises PlanError or DurationError."""
    policy = params["policy"]
    required = {"retention": ("drop_after",), "compression": ("compress_after",), "refresh": ("end_offset",)}
    durations = {}
    for key in POLICIES[policy][1]:
        value = params[key]
        if value is None and params["state"] == "present" and key in required[policy]:
            raise PlanError("%s: required for a %s policy" % (key, policy))
        durations[key] = parse_duration(value, key) if value is not None else None
    for option in ("drop_after", "compress_after", "start_offset", "end_offset", "segmentby", "orderby"):
        if (
            params[option] is not None
            and option not in POLICIES[policy][1]
            and option not in (("segmentby", "orderby") if policy == "compression" else ())
        ):
            raise PlanError("%s: does not apply to a %s policy" % (option, policy))
    schedule = params["schedule_interval"]
    return {
        "state": params["state"],
        "policy": policy,
        "durations": durations,
        "schedule_interval": parse_duration(schedule, "schedule_interval") if schedule is not None else None,
        "segmentby": (
            [parse_identifier(column, "segmentby[%d]" % index) for index, column in enumerate(params["segmentby"])]
            if params["segmentby"] is not None
            else None
        ),
        "orderby": (
            [parse_orderby(entry, "orderby[%d]" % index) for index, entry in enumerate(params["orderby"])]
            if params["orderby"] is not None
            else None
        ),
    }


def describe_before(policy, label, current):
    """The policy as read from the server, with the compression settings of a compression policy."""
    before = describe(policy, label, current["job"])
    if before and policy == "compression":
        before["segmentby"] = current["compression"]["segmentby"]
        before["orderby"] = orderby_text(current["compression"]["orderby"])
    return before


# The options of one policy: the module's top-level options and the entries of O(policies).
ITEM_OPTIONS = dict(
    relation=dict(type="str", required=True, aliases=["hypertable", "continuous_aggregate"]),
    schema=dict(type="str", default="public"),
    policy=dict(type="str", required=True, choices=list(POLICIES)),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    drop_after=dict(type="str"),
    compress_after=dict(type="str"),
    segmentby=dict(type="list", elements="str"),
    orderby=dict(type="list", elements="str"),
    start_offset=dict(type="str"),
    end_offset=dict(type="str"),
    schedule_interval=dict(type="str"),
)


class Policies(TimescaleObjects):
    list_option = "policies"
    name_option = "relation"
    result_key = "policy"
    noun = "policy"

    def desired(self, options, params):
        desired = desired_state(options)
        schema, name = parse_qualified_name(options["relation"], options["schema"], "relation")
        desired.update(schema=schema, name=name, relation_label="%s.%s" % (schema, name))
        # The label names the policy: one relation may have a policy of each kind.
        desired["label"] = desired["feature"] = "%s on %s" % (
            FEATURE_NAMES[desired["policy"]],
            desired["relation_label"],
        )
        return desired

    def object_name(self, desired):
        return "the " + desired["label"]

    def read(self, session, desired):
        return read_current(session, desired["policy"], desired["schema"], desired["name"])

    def exists(self, current):
        return current["job"] is not None

    def plan(self, current, desired):
        return plan_policy(current, desired)

    def statements(self, actions, desired):
        relation = qualified_name(desired["schema"], desired["name"])
        return [action_sql(action, desired["policy"], relation, relation) for action in actions]

    def finish(self, session, desired, actions, after):
        # The id of a job this run added is known only once it exists (unknown in a dry run).
        if not session.module.check_mode and after is not None and after.get("job_id") is None:
            after["job_id"] = read_current(session, desired["policy"], desired["schema"], desired["name"])["job"][
                "job_id"
            ]

    def describe(self, desired, state):
        return describe(desired["policy"], desired["relation_label"], state)

    def describe_before(self, desired, current):
        return describe_before(desired["policy"], desired["relation_label"], current)

    def result_fields(self, options, desired, current):
        return {"relation": options["relation"], "schema": desired["schema"], "policy": desired["policy"]}


def module_arguments():
    """The argument spec and the checks between options (the unit tests validate with them too)."""
    argument_spec = postgres_argument_spec()
    argument_spec.update(edition_argument_spec())
    argument_spec.update(top_level_options(ITEM_OPTIONS))
    argument_spec.update(policies=list_option_spec(ITEM_OPTIONS))
    checks = dict(
        required_one_of=[("relation", "policies")],
        mutually_exclusive=[("policies", option) for option in ITEM_OPTIONS],
        required_by={"relation": "policy"},
    )
    return argument_spec, checks


def main():
    argument_spec, checks = module_arguments()
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, **checks)
    run_objects(module, Policies())


if __name__ == "__main__":
    main()
