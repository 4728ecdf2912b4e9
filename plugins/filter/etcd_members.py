# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: etcd_members
short_description: The members of an etcd cluster (name, peer and client URLs) read from the inventory
version_added: 0.1.0
description:
  - Takes the inventory names of the hosts of the etcd group and returns one entry per member with its
    name and URLs, read from each host's inventory variables C(etcd_name), C(etcd_address) (else
    C(ansible_host), else the inventory name), C(etcd_client_port) and C(etcd_peer_port), with the
    role's defaults for what a host does not set.
  - Read from the inventory rather than from facts, so the etcd role's initial cluster and Patroni's
    list of etcd endpoints are the same on a run limited to some hosts.
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
  client_port:
    description: Client port of a member that does not set C(etcd_client_port).
    type: int
    default: 2379
  peer_port:
    description: Peer port of a member that does not set C(etcd_peer_port).
    type: int
    default: 2380
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: etcd's initial-cluster list
  ansible.builtin.debug:
    msg: >-
      {{ groups['etcd'] | mantis.datalayer.etcd_members(hostvars)
         | map(attribute='initial_cluster_entry') | join(',') }}
"""

RETURN = r"""
_value:
  description: One entry per member.
  type: list
  elements: dict
  contains:
    host: {description: Inventory name., type: str}
    name: {description: Member name., type: str}
    address: {description: Address peers and clients reach the member at., type: str}
    peer_url: {description: "C(https://address:peer_port)", type: str}
    client_url: {description: "C(https://address:client_port)", type: str}
    client_endpoint: {description: "C(address:client_port), as Patroni's etcd3 C(hosts) takes it", type: str}
    initial_cluster_entry: {description: "C(name=peer_url), as etcd's initial-cluster takes it", type: str}
"""

from ansible_collections.mantis.datalayer.plugins.plugin_utils.cluster_members import cluster_members, url_host


def etcd_member(host, variables, client_port=2379, peer_port=2380):
    name = str(variables.get("etcd_name") or host)
    address = str(variables.get("etcd_address") or variables.get("ansible_host") or host)
    client = int(variables.get("etcd_client_port") or client_port)
    peer = int(variables.get("etcd_peer_port") or peer_port)
    peer_url = "https://%s:%d" % (url_host(address), peer)
    return {
        "host": host,
        "name": name,
        "address": address,
        "peer_url": peer_url,
        "client_url": "https://%s:%d" % (url_host(address), client),
        "client_endpoint": "%s:%d" % (url_host(address), client),
        "initial_cluster_entry": "%s=%s" % (name, peer_url),
    }


def etcd_members(hosts, hostvars, client_port=2379, peer_port=2380):
    return cluster_members(
        "etcd_members", hosts, hostvars, lambda host, variables: etcd_member(host, variables, client_port, peer_port)
    )


class FilterModule(object):
    def filters(self):
        return {"etcd_members": etcd_members}
