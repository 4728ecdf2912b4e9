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
  - B(How the token is returned.) InfluxDB 2.9 stores tokens hashed; a token's value exists only
    in the response that creates it. The module returns it in RV(token) only on the run that
    created it, and never reads a value back (not even from 2.7, which could show it). Run the
    task with C(no_log=true) and store the value before anything else talks to the server (for
    example a file with mode C(0600) on the controller, as the C(mantis.datalayer.influxdb) role
    does); never print it.
  - B(A token whose value is lost.) Tell the module whether the value is stored with
    O(value_stored) (and where, with O(value_file)). When the token exists on the server but its
    value is not stored, the module fails and names the file and O(rotate), the option that
    replaces the token with a new one; it never rotates a token unless asked.
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
  rotate:
    description:
      - Replace the token with a new one even when it is as wanted (delete it, create it again); the new
        value is returned in RV(token) and clients holding the old value lose access.
    type: bool
    default: false
  value_stored:
    description:
      - Whether the caller still has the value of an existing token (for example, its file on the controller
        exists). When false and the token exists, the module fails naming O(value_file) and O(rotate), since
        the value cannot be read back from the server.
    type: bool
    default: true
  value_file:
    description:
      - Where the caller keeps the token's value (for example the controller-side file), named in the message
        when O(value_stored=false). The module never reads or writes it.
    type: str
  state:
    description: V(present) ensures the token; V(absent) deletes every token of O(org) with O(description).
    type: str
    choices: [present, absent]
    default: present
notes:
  - The org option (O(org)) is required.
  - "Permissions the token in O(token) needs (authorization/middleware_auth.go in InfluxDB's source):
    V(read:orgs/<org ID>), V(read:orgs/<org ID>/authorizations) and V(read:users/<user ID>) to see the
    organization's tokens, read on the buckets named in O(permissions), and to create, change or delete a
    token V(write:orgs/<org ID>/authorizations), V(write:users/<ID of the token's user>) and every permission
    it grants. An organization's all-access token lacks V(write:users) and cannot manage tokens; the
    operator token from onboarding can. When the server refuses the token the module fails and names what
    is needed."
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

- name: Writer token whose value is kept in a controller file; fail if the file is gone
  mantis.datalayer.influx_authorization:
    token: "{{ influxdb_operator_token }}"
    org: mantis-org
    description: sensors writer
    permissions:
      - action: write
        name: sensors
    value_stored: "{{ writer_file.stat.exists }}"
    value_file: "{{ playbook_dir }}/secrets/sensors-writer.token"
  no_log: true

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
    - Store it before the next call to the server; it cannot be read back.
  returned: only when this run created (or replaced, or rotated) the token, not in check mode
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


def plan_authorization(existing, desired_permissions, status, state, replace, rotate=False, lost_value_file=None):
    """Actions as a list of (method, target): DELETE/PATCH an existing token, POST a new one (None).

    ``existing`` is the list of tokens with the description (normally zero or one).
    ``lost_value_file`` is None when the caller has the token's value, else where it should have been.
    Raises ValueError when the permissions differ and ``replace`` is false, or when the value of
    an existing token is not stored and ``rotate`` is false.
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
    if rotate:
        return [("DELETE", current), ("POST", None)]
    if lost_value_file is not None:
        raise ValueError(
            "value_file: the token %r exists on the server but its value is not stored in %s. InfluxDB shows a "
            "token's value only in the response that creates it (2.9 keeps only a hash), so it cannot be read "
            "back: restore the file, or set rotate=true to replace the token with a new one (clients using the "
            "old value lose access)" % (current.get("description"), lost_value_file)
        )
    if current.get("status", "active") != status:
        return [("PATCH", current)]
    return []


def needs_to_manage(org_id, verb, granted=None):
    """The permissions InfluxDB requires of a token that creates, changes or deletes tokens.

    authorization/middleware_auth.go: write on the org's authorizations and write on the user
    that owns the token; a new token may only hold what the calling token holds (VerifyPermissions).
    """
    text = "write:orgs/%s/authorizations and write:users/<ID of the user owning the token> to %s a token" % (
        org_id,
        verb,
    )
    if granted:
        text += ", and every permission it grants (%s)" % ", ".join(
            "%s:%s" % (p["action"], resource_path(p["resource"])) for p in granted
        )
    return text + "; an organization's all-access token lacks write:users: use the operator token from onboarding"


def resource_path(resource):
    if resource.get("orgID") and resource.get("id"):
        return "orgs/%s/%s/%s" % (resource["orgID"], resource["type"], resource["id"])
    if resource.get("orgID"):
        return "orgs/%s/%s" % (resource["orgID"], resource["type"])
    return resource["type"] + ("/%s" % resource["id"] if resource.get("id") else "")


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
        rotate=dict(type="bool", default=False),
        value_stored=dict(type="bool", default=True),
        value_file=dict(type="str"),
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
        lost_value_file = None if params["value_stored"] else (params["value_file"] or "value_file (not given)")
        actions = plan_authorization(
            existing, desired, params["status"], params["state"], params["replace"], params["rotate"], lost_value_file
        )
        before = describe(existing[0]) if existing else {}
        after = dict(before)
        for method, target in actions:
            if method == "DELETE":
                client.change(
                    "DELETE", "/api/v2/authorizations/%s" % target["id"], needs=needs_to_manage(org_id, "delete")
                )
                after = {}
            elif method == "PATCH":
                updated = client.change(
                    "PATCH",
                    "/api/v2/authorizations/%s" % target["id"],
                    {"status": params["status"]},
                    needs=needs_to_manage(org_id, "change"),
                )
                after = describe(updated) if updated else dict(before, status=params["status"])
            else:
                body = dict(
                    orgID=org_id, description=params["description"], status=params["status"], permissions=desired
                )
                created = client.change(
                    "POST", "/api/v2/authorizations", body, needs=needs_to_manage(org_id, "create", desired)
                )
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
