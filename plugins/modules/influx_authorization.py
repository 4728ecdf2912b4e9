#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: influx_authorization
short_description: Manage an InfluxDB 2 API token (authorization) with least-privilege permissions
description:
  - Ensures that an organization has one API token with the given O(description) and exactly the
    given O(permissions), through the v2 HTTP API. The description identifies the token within
    the organization, so keep it unique.
  - Permissions on buckets are given by bucket name and resolved to bucket IDs in the organization.
  - InfluxDB cannot change the permissions of an existing token. When they differ, the module
    replaces the token (deletes it and creates a new one, whose value is new) only with
    O(replace=true); otherwise it fails and says what differs, so clients holding the old value
    do not lose access unexpectedly. Status (active/inactive) is changed in place.
  - B(How the token is returned.) Recent InfluxDB servers show a token's value only when it is
    created. The module returns it in RV(token) only on the run that created it. Run the task with
    C(no_log=true) and store the value where it belongs (for example a file with mode C(0600) on
    the controller, as the C(mantis.datalayer.influxdb) role does); never print it.
version_added: 0.1.0
author: MANTIS data layer team (@mantis-datalayer)
extends_documentation_fragment:
  - mantis.datalayer.influxdb
options:
  description:
    description: Description that identifies the token within O(org), for example V(sensors writer).
    type: str
    required: true
  permissions:
    description:
      - The permissions the token must have, exactly. Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      action:
        description: V(read) or V(write). InfluxDB does not imply read from write.
        type: str
        required: true
        choices: [read, write]
      type:
        description: Resource type.
        type: str
        default: buckets
        choices: [authorizations, buckets, dashboards, orgs, tasks, telegrafs, users, variables,
                  secrets, labels, views, documents, notificationRules, notificationEndpoints,
                  checks, dbrp, annotations, sources, scrapers, notebooks]
      name:
        description:
          - Name of one bucket of O(org) (only for V(type=buckets)). Omit (and omit O(permissions[].id))
            for every resource of the type in the organization.
        type: str
      id:
        description: ID of one resource, instead of O(permissions[].name).
        type: str
  status:
    description: Whether the token can be used.
    type: str
    choices: [active, inactive]
    default: active
  replace:
    description:
      - Replace an existing token whose permissions differ (its value changes). Without it the module fails instead.
    type: bool
    default: false
  state:
    description: V(present) ensures the token; V(absent) deletes every token of O(org) with O(description).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The org option (O(org)) is required. The token in O(token) must hold every permission it grants.
seealso:
  - module: mantis.datalayer.influx_bucket
  - module: mantis.datalayer.influx_onboarding
"""

EXAMPLES = r"""
- name: Ingestion token that can only write to the sensors bucket
  mantis.datalayer.influx_authorization:
    url: http://influx.plant.local:8086
    token: "{{ influxdb_operator_token }}"
    org: mantis-org
    description: sensors writer
    permissions:
      - action: write
        name: sensors
  register: writer
  no_log: true

- name: Store a newly created token on the controller, readable by its owner only
  ansible.builtin.copy:
    dest: "{{ playbook_dir }}/secrets/sensors-writer.token"
    content: "{{ writer.token }}"
    mode: "0600"
  delegate_to: localhost
  no_log: true
  when: writer.token is defined

- name: Dashboard token reading every bucket of the organization; replace it if it differs
  mantis.datalayer.influx_authorization:
    token: "{{ influxdb_operator_token }}"
    org: mantis-org
    description: dashboards reader
    permissions:
      - action: read
        type: buckets
    replace: true
  no_log: true
"""

RETURN = r"""
authorization:
  description: The token's metadata after the task (never its value); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: Authorization ID (empty in check mode when it would be created).
      type: str
    description:
      description: Description.
      type: str
    status:
      description: V(active) or V(inactive).
      type: str
    permissions:
      description: Permissions as the API returns them (action and resource type, id, orgID, name).
      type: list
      elements: dict
token:
  description:
    - Value of the token created by this run. Secret; run the task with C(no_log) and never print it.
  returned: only when this run created (or replaced) the token, not in check mode
  type: str
requests:
  description: API calls made, or planned in check mode, as C(METHOD /path?query). Never contains tokens.
  returned: always
  type: list
  elements: str
diff:
  description: The token's description, status and permissions before and after, in diff mode.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.influxdb import (
    RESOURCE_TYPES,
    InfluxDBClient,
    InfluxDBError,
    influxdb_argument_spec,
    permission_key,
)


def api_permissions(permissions, org_id, bucket_ids):
    """Module permissions -> API permissions; ``bucket_ids`` maps bucket names to IDs."""
    result = []
    for permission in permissions:
        resource = dict(type=permission["type"], orgID=org_id)
        if permission.get("name"):
            if permission["type"] != "buckets":
                raise ValueError("permissions: name is only supported for type buckets (use id)")
            if permission["name"] not in bucket_ids:
                raise ValueError("permissions: bucket %r not found in the organization" % permission["name"])
            resource["id"] = bucket_ids[permission["name"]]
        elif permission.get("id"):
            resource["id"] = permission["id"]
        result.append(dict(action=permission["action"], resource=resource))
    return result


def describe(authorization):
    if not authorization:
        return {}
    return dict(
        id=authorization.get("id", ""),
        description=authorization.get("description", ""),
        status=authorization.get("status", "active"),
        permissions=authorization.get("permissions", []),
    )


def plan_authorization(existing, desired_permissions, status, state, replace):
    """Actions as a list of (method, target) where target is 'existing' or 'new'.

    ``existing`` is the list of tokens with the description (normally zero or one).
    Raises ValueError when the permissions differ and ``replace`` is false.
    """
    if state == "absent":
        return [("DELETE", auth) for auth in existing]
    if len(existing) > 1:
        raise ValueError(
            "description: %d tokens in the organization have this description; make it unique "
            "(delete the extra ones with state=absent)" % len(existing)
        )
    if not existing:
        return [("POST", None)]
    current = existing[0]
    have = sorted(permission_key(p) for p in current.get("permissions", []))
    want = sorted(permission_key(p) for p in desired_permissions)
    if have != want:
        if not replace:
            raise ValueError(
                "permissions: the existing token %r has permissions %s, not %s; InfluxDB cannot change them "
                "in place: set replace=true to replace the token (its value changes)"
                % (current.get("description"), format_keys(have), format_keys(want))
            )
        return [("DELETE", current), ("POST", None)]
    if current.get("status", "active") != status:
        return [("PATCH", current)]
    return []


def format_keys(keys):
    return (
        ", ".join("%s %s%s" % (action, rtype, "/" + rid if rid else "") for action, rtype, rid, _org in keys) or "none"
    )


def main():
    argument_spec = influxdb_argument_spec()
    argument_spec.update(
        description=dict(type="str", required=True),
        permissions=dict(
            type="list",
            elements="dict",
            options=dict(
                action=dict(type="str", required=True, choices=["read", "write"]),
                type=dict(
                    type="str",
                    default="buckets",
                    choices=list(RESOURCE_TYPES),
                ),
                name=dict(type="str"),
                id=dict(type="str"),
            ),
            mutually_exclusive=[("name", "id")],
        ),
        status=dict(type="str", default="active", choices=["active", "inactive"]),
        replace=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["permissions"])],
    )
    params = module.params
    if not params["description"].strip():
        module.fail_json(msg="description: must not be empty; it identifies the token", requests=[])
    client = InfluxDBClient(module)
    result = {}
    try:
        org_id = client.org_id()
        listing = client.read("/api/v2/authorizations", {"orgID": org_id}) or {}
        existing = [
            a
            for a in listing.get("authorizations") or []
            if a.get("orgID") == org_id and a.get("description") == params["description"]
        ]
        desired = []
        if params["state"] == "present":
            bucket_ids = {}
            for name in sorted({p["name"] for p in params["permissions"] if p.get("name")}):
                bucket = client.find_bucket(org_id, name)
                if bucket:
                    bucket_ids[name] = bucket["id"]
            desired = api_permissions(params["permissions"], org_id, bucket_ids)
        actions = plan_authorization(existing, desired, params["status"], params["state"], params["replace"])
        before = describe(existing[0]) if existing else {}
        after = dict(before)
        for method, target in actions:
            if method == "DELETE":
                client.change("DELETE", "/api/v2/authorizations/%s" % target["id"])
                after = {}
            elif method == "PATCH":
                updated = client.change(
                    "PATCH", "/api/v2/authorizations/%s" % target["id"], {"status": params["status"]}
                )
                after = describe(updated) if updated else dict(before, status=params["status"])
            else:
                body = dict(
                    orgID=org_id, description=params["description"], status=params["status"], permissions=desired
                )
                created = client.change("POST", "/api/v2/authorizations", body)
                if created:
                    result["token"] = created.get("token", "")
                    created = dict((k, v) for k, v in created.items() if k != "token")
                after = (
                    describe(created)
                    if created
                    else dict(id="", description=params["description"], status=params["status"], permissions=desired)
                )
    except (InfluxDBError, ValueError) as exc:
        client.fail(exc)
    client.exit(bool(actions), before, after, authorization=after, **result)


if __name__ == "__main__":
    main()
