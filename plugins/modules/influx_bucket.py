#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: influx_bucket
short_description: Manage an InfluxDB 2 bucket in an organization
description:
  - Creates, updates or deletes a bucket of an InfluxDB 2 organization through the v2 HTTP API.
  - The bucket is looked up by name B(within the organization); buckets of the same name in
    other organizations are never touched.
  - Updates the description, the retention period and the shard-group duration in place; the
    data in the bucket is kept. A bucket is deleted only with O(state=absent).
  - Shard-group durations are compared the way the server stores them (under one hour is stored
    as one hour), so a second run changes nothing. When a shorter retention would be refused
    because the bucket's shard groups are longer than the new retention, the module also sets
    the shard-group duration the server would choose for the new retention.
version_added: 0.1.0
author: MANTIS data layer team (@mantis-datalayer)
extends_documentation_fragment:
  - mantis.datalayer.influxdb
options:
  name:
    description: Name of the bucket. Must not be empty.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the bucket; V(absent) deletes it with all its data.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the bucket. Omit to leave the current description alone.
    type: str
  retention:
    description:
      - How long data is kept, as seconds (V(2592000)) or a duration (V(30d), V(720h), V(4w), V(1y)).
      - V(0) keeps data forever. Anything else must be at least one hour (a server rule).
      - Omit to leave the retention of an existing bucket alone; a new bucket then keeps data forever.
    type: raw
  shard_group_duration:
    description:
      - Time span covered by one shard group, in the same forms as O(retention).
      - Must not be longer than the retention (unless the retention is forever). Less than one
        hour is stored (and compared) as one hour; V(0) means the server's default.
      - Omit to let the server choose (1 hour for retentions under 2 days, 1 day under
        6 months, 7 days otherwise) and to leave an existing value alone, except when a shorter
        O(retention) needs shorter shard groups (then the server's choice for the new retention
        is set).
    type: raw
notes:
  - The org option (O(org)) is required.
  - "Permissions the token in O(token) needs: V(read:orgs/<org ID>) to find the organization,
    V(read:orgs/<org ID>/buckets) to find the bucket, V(write:orgs/<org ID>/buckets) to create
    it, write on the bucket to change or delete it. The operator token from onboarding has them
    all. When the server refuses the token the module fails and names what is missing."
seealso:
  - module: mantis.datalayer.influx_authorization
  - module: mantis.datalayer.influx_onboarding
"""

EXAMPLES = r"""
- name: Sensor bucket of the MANTIS organization, kept 30 days
  mantis.datalayer.influx_bucket:
    url: http://influx.plant.local:8086
    token: "{{ influxdb_operator_token }}"
    org: mantis-org
    name: sensors
    description: High-frequency sensor readings
    retention: 30d

- name: The same with connection options set once for the play
  module_defaults:
    group/mantis.datalayer.influxdb:
      url: https://influx.plant.local:8086
      token: "{{ vault_influxdb_operator_token }}"
      org: mantis-org
      ca_path: /etc/ssl/plant-ca.pem
  block:
    - name: Archive bucket, forever, one week per shard group
      mantis.datalayer.influx_bucket:
        name: archive
        retention: 0
        shard_group_duration: 7d

- name: Remove a bucket and its data
  mantis.datalayer.influx_bucket:
    token: "{{ influxdb_operator_token }}"
    org: mantis-org
    name: scratch
    state: absent
"""

RETURN = r"""
bucket:
  description: The bucket after the task (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: Bucket ID (empty in check mode when the bucket would be created).
      type: str
    name:
      description: Bucket name.
      type: str
    org:
      description: Organization name.
      type: str
    org_id:
      description: Organization ID.
      type: str
    description:
      description: Bucket description.
      type: str
    retention_seconds:
      description: Retention period in seconds, V(0) meaning forever.
      type: int
    shard_group_duration_seconds:
      description: Shard-group duration in seconds (V(0) when the server has not chosen it yet, in check mode).
      type: int
  sample:
    id: 0f3c2a91b7d84e65
    name: sensors
    org: mantis-org
    org_id: 9a8b7c6d5e4f3a2b
    description: High-frequency sensor readings
    retention_seconds: 2592000
    shard_group_duration_seconds: 86400
requests:
  description: API calls made, or planned in check mode, as C(METHOD /path?query). Never contains tokens.
  returned: always
  type: list
  elements: str
  sample:
    - GET /api/v2/orgs?org=mantis-org
    - GET /api/v2/buckets?name=sensors&orgID=9a8b7c6d5e4f3a2b
    - PATCH /api/v2/buckets/0f3c2a91b7d84e65
diff:
  description: Bucket settings before and after, in diff mode.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import (
    DurationError,
    human_duration,
    parse_duration,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.influxdb import (
    InfluxDBClient,
    InfluxDBError,
    default_shard_group_duration,
    influxdb_argument_spec,
    normalised_shard_group_duration,
)


def bucket_settings(bucket, org_name):
    """The comparable settings of an API bucket."""
    if not bucket:
        return {}
    rules = bucket.get("retentionRules") or []
    rule = rules[0] if rules else {}
    return dict(
        id=bucket.get("id", ""),
        name=bucket["name"],
        org=org_name,
        org_id=bucket.get("orgID", ""),
        description=bucket.get("description") or "",
        retention_seconds=int(rule.get("everySeconds") or 0),
        shard_group_duration_seconds=int(rule.get("shardGroupDurationSeconds") or 0),
    )


def desired_settings(params):
    """Validated desired settings from module parameters; raises ValueError naming the parameter."""
    name = params["name"]
    if name is None or not name.strip():
        raise ValueError("name: a bucket name must not be empty")
    if name.startswith("_"):
        raise ValueError("name: %r starts with '_', which InfluxDB reserves for system buckets" % name)
    desired = dict(name=name, description=params.get("description"))
    desired["retention_seconds"] = (
        parse_duration(params["retention"], "retention") if params.get("retention") is not None else None
    )
    desired["shard_group_duration_seconds"] = (
        parse_duration(params["shard_group_duration"], "shard_group_duration")
        if params.get("shard_group_duration") is not None
        else None
    )
    retention = desired["retention_seconds"]
    if retention is not None and 0 < retention < 3600:
        raise ValueError(
            "retention: %s is shorter than one hour, the server's minimum (use 0 to keep data forever)"
            % human_duration(retention)
        )
    return desired


def check_shard_group(retention, shard):
    if shard is not None and shard and retention and shard > retention:
        raise ValueError(
            "shard_group_duration: %s is longer than the retention %s; it must be shorter or equal"
            % (human_duration(shard), human_duration(retention))
        )


def planned_shard(current, desired):
    """The shard-group duration to send (as the server will store it), or None to send none.

    A requested duration is normalised like the server does (v1/services/meta/data.go,
    NormalisedShardDuration). Without one, a retention change that the server would refuse
    because the current shard groups are longer than the new retention (storage/engine.go:
    "shard-group duration must also be updated ...") gets the server's default for it.
    """
    retention = desired["retention_seconds"]
    effective_retention = retention if retention is not None else current.get("retention_seconds", 0)
    shard = desired["shard_group_duration_seconds"]
    if shard is not None:
        return normalised_shard_group_duration(shard, effective_retention)
    if current and retention and retention != current["retention_seconds"]:
        if retention < current["shard_group_duration_seconds"]:
            return default_shard_group_duration(retention)
    return None


def plan_bucket(current, desired, state):
    """What to do: (action, API body). action is None, 'create', 'update' or 'delete'.

    ``current`` is :func:`bucket_settings` of the existing bucket ({} when missing),
    ``desired`` the output of :func:`desired_settings` plus ``org_id``.
    """
    if state == "absent":
        return ("delete", None) if current else (None, None)
    retention = desired["retention_seconds"]
    shard = planned_shard(current, desired)
    if not current:
        check_shard_group(retention or 0, shard)
        body = dict(orgID=desired["org_id"], name=desired["name"])
        if desired["description"] is not None:
            body["description"] = desired["description"]
        rule = dict(type="expire", everySeconds=retention or 0)
        if shard:
            rule["shardGroupDurationSeconds"] = shard
        body["retentionRules"] = [rule]
        return "create", body
    effective_retention = current["retention_seconds"] if retention is None else retention
    check_shard_group(effective_retention, shard)
    body = {}
    if desired["description"] is not None and desired["description"] != current["description"]:
        body["description"] = desired["description"]
    retention_changed = retention is not None and retention != current["retention_seconds"]
    shard_changed = shard is not None and shard != current["shard_group_duration_seconds"]
    if retention_changed or shard_changed:
        rule = dict(type="expire", everySeconds=effective_retention)
        if shard is not None:
            rule["shardGroupDurationSeconds"] = shard
        body["retentionRules"] = [rule]
    return ("update", body) if body else (None, None)


def expected_after(current, desired, action, org_name, body=None):
    """The settings the bucket will have (for diff and for the result in check mode)."""
    if action == "delete":
        return {}
    if action is None:
        return current
    after = (
        dict(current)
        if current
        else dict(
            id="",
            name=desired["name"],
            org=org_name,
            org_id=desired["org_id"],
            description="",
            retention_seconds=0,
            shard_group_duration_seconds=0,
        )
    )
    if desired["description"] is not None:
        after["description"] = desired["description"]
    rule = ((body or {}).get("retentionRules") or [{}])[0]
    if "everySeconds" in rule:
        after["retention_seconds"] = rule["everySeconds"]
    if "shardGroupDurationSeconds" in rule:
        after["shard_group_duration_seconds"] = rule["shardGroupDurationSeconds"]
    return after


def main():
    argument_spec = influxdb_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        description=dict(type="str"),
        retention=dict(type="raw"),
        shard_group_duration=dict(type="raw"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    client = InfluxDBClient(module)
    try:
        desired = desired_settings(module.params)
    except (ValueError, DurationError) as exc:
        module.fail_json(msg=str(exc), requests=[])
    org_name = module.params["org"]
    try:
        desired["org_id"] = client.org_id()
        current = bucket_settings(client.find_bucket(desired["org_id"], desired["name"]), org_name)
        try:
            action, body = plan_bucket(current, desired, module.params["state"])
        except ValueError as exc:
            client.fail(exc)
        after = expected_after(current, desired, action, org_name, body)
        org_id = desired["org_id"]
        if action == "create":
            created = client.change(
                "POST", "/api/v2/buckets", body, needs="write:orgs/%s/buckets to create a bucket" % org_id
            )
            after = bucket_settings(created, org_name) if created else after
        elif action in ("update", "delete"):
            needs = "write:orgs/%s/buckets/%s (or write on every bucket of the organization) to %s the bucket" % (
                org_id,
                current["id"],
                "change" if action == "update" else "delete",
            )
            if action == "update":
                updated = client.change("PATCH", "/api/v2/buckets/%s" % current["id"], body, needs=needs)
                after = bucket_settings(updated, org_name) if updated else after
            else:
                client.change("DELETE", "/api/v2/buckets/%s" % current["id"], needs=needs)
    except InfluxDBError as exc:
        client.fail(exc)
    client.exit(action is not None, current, after, bucket=after)


if __name__ == "__main__":
    main()
