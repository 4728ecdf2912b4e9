#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: influx_org
short_description: Manage an InfluxDB 2 organization
description:
  - Creates an InfluxDB 2 organization, updates its description, or deletes it through the v2 HTTP API.
  - Deleting an organization deletes its buckets, data and tokens; it happens only with O(state=absent).
version_added: 0.1.0
author: MANTIS data layer team (@mantis-datalayer)
extends_documentation_fragment:
  - mantis.datalayer.influxdb
options:
  org:
    description: Name of the organization to manage. Required.
    type: str
  description:
    description: Description of the organization. Omit to leave it alone.
    type: str
  state:
    description: V(present) creates or updates the organization; V(absent) deletes it with everything in it.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Creating an organization needs an operator (all-access across organizations) token.
seealso:
  - module: mantis.datalayer.influx_bucket
"""

EXAMPLES = r"""
- name: Organization of a second plant
  mantis.datalayer.influx_org:
    token: "{{ influxdb_operator_token }}"
    org: plant-2
    description: Second MANTIS plant
"""

RETURN = r"""
organization:
  description: The organization after the task (in check mode, as it would be); empty when absent.
  returned: always
  type: dict
  sample: {id: 9a8b7c6d5e4f3a2b, name: plant-2, description: Second MANTIS plant}
requests:
  description: API calls made, or planned in check mode, as C(METHOD /path?query). Never contains tokens.
  returned: always
  type: list
  elements: str
diff:
  description: The organization before and after, in diff mode.
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.influxdb import (
    InfluxDBClient,
    InfluxDBError,
    influxdb_argument_spec,
)


def org_settings(org):
    if not org:
        return {}
    return dict(id=org.get("id", ""), name=org["name"], description=org.get("description") or "")


def plan_org(current, name, description, state):
    """(method, body) to apply, or (None, None)."""
    if state == "absent":
        return ("DELETE", None) if current else (None, None)
    if not current:
        body = dict(name=name)
        if description is not None:
            body["description"] = description
        return "POST", body
    if description is not None and description != current["description"]:
        return "PATCH", dict(description=description)
    return None, None


def main():
    argument_spec = influxdb_argument_spec()
    argument_spec.update(
        description=dict(type="str"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    name = module.params["org"]
    if not (name or "").strip():
        module.fail_json(msg="org: the organization name must not be empty", requests=[])
    client = InfluxDBClient(module)
    try:
        current = org_settings(client.find_org(name))
        method, body = plan_org(current, name, module.params["description"], module.params["state"])
        after = current
        if method == "POST":
            created = client.change("POST", "/api/v2/orgs", body, needs="write:orgs (every organization) to create one")
            after = (
                org_settings(created) if created else dict(id="", name=name, description=body.get("description", ""))
            )
        elif method == "PATCH":
            updated = client.change(
                "PATCH", "/api/v2/orgs/%s" % current["id"], body, needs="write:orgs/%s to change it" % current["id"]
            )
            after = org_settings(updated) if updated else dict(current, **body)
        elif method == "DELETE":
            client.change(
                "DELETE", "/api/v2/orgs/%s" % current["id"], needs="write:orgs/%s to delete it" % current["id"]
            )
            after = {}
    except InfluxDBError as exc:
        client.fail(exc)
    client.exit(method is not None, current, after, organization=after)


if __name__ == "__main__":
    main()
