# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The members of a cluster read from the inventory: what the etcd_members and patroni_members
filters share (the host's address in a URL, unknown hosts and repeated names refused)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def url_host(address):
    """An IPv6 address goes in brackets in a URL or before a port."""
    return "[%s]" % address if ":" in address and not address.startswith("[") else address


def cluster_members(filter_name, hosts, hostvars, member):
    """member(host, its variables) for each host, in order; every name once."""
    members = []
    for host in hosts or []:
        if host not in hostvars:
            raise AnsibleFilterError("%s: host %s is not in the inventory" % (filter_name, host))
        members.append(member(host, hostvars[host]))
    names = [entry["name"] for entry in members]
    duplicates = sorted(set(name for name in names if names.count(name) > 1))
    if duplicates:
        raise AnsibleFilterError(
            "%s: member names must be unique, %s is used twice" % (filter_name, ", ".join(duplicates))
        )
    return members
