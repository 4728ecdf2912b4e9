# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: patroni_members
short_description: A Patroni cluster's members (name, address, PostgreSQL and REST API ports) from the inventory
version_added: 0.1.0
description:
  - Takes the inventory names of the hosts of a Patroni cluster and returns one entry per member with the name,
    address and ports it is reached at, read from each host's inventory variables C(patroni_name),
    C(patroni_address) (else C(ansible_host), else the inventory name), C(patroni_postgresql_port) and
    C(patroni_restapi_port), with the role's defaults for what a host does not set.
  - One rule for the patroni role (the address a member advertises) and for HAProxy (the servers it
    forwards to and health-checks), read from the inventory so both agree on a run limited to some hosts.
options:
  _input:
    description: Inventory names of the members, in order.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
  postgresql_port:
    description: PostgreSQL port of a member that does not set C(patroni_postgresql_port).
    type: int
    default: 5432
  restapi_port:
    description: REST API port of a member that does not set C(patroni_restapi_port).
    type: int
    default: 8008
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: HAProxy's servers
  ansible.builtin.debug:
    msg: >-
      {{ groups['postgresql_cluster'] | mantis.datalayer.patroni_members(hostvars)
         | map(attribute='postgresql_endpoint') | join(' ') }}
"""

RETURN = r"""
_value:
  description: One entry per member.
  type: list
  elements: dict
  contains:
    host: {description: Inventory name., type: str}
    name: {description: Member name (Patroni's C(name))., type: str}
    address: {description: Address the other members and clients reach the member at., type: str}
    postgresql_port: {description: Port of PostgreSQL., type: int}
    restapi_port: {description: Port of Patroni's REST API., type: int}
    postgresql_endpoint: {description: "C(address:postgresql_port), IPv6 addresses in brackets", type: str}
"""

from ansible_collections.mantis.datalayer.plugins.plugin_utils.cluster_members import cluster_members, url_host


def patroni_member(host, variables, postgresql_port=5432, restapi_port=8008):
    address = str(variables.get("patroni_address") or variables.get("ansible_host") or host)
    port = int(variables.get("patroni_postgresql_port") or postgresql_port)
    return {
        "host": host,
        "name": str(variables.get("patroni_name") or host),
        "address": address,
        "postgresql_port": port,
        "restapi_port": int(variables.get("patroni_restapi_port") or restapi_port),
        "postgresql_endpoint": "%s:%d" % (url_host(address), port),
    }


def patroni_members(hosts, hostvars, postgresql_port=5432, restapi_port=8008):
    return cluster_members(
        "patroni_members",
        hosts,
        hostvars,
        lambda host, variables: patroni_member(host, variables, postgresql_port, restapi_port),
    )


class FilterModule(object):
    def filters(self):
        return {"patroni_members": patroni_members}
