# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pg_hba_entry_problem
short_description: What is wrong with a pg_hba.conf entry, or an empty string
version_added: 0.1.0
description:
  - Checks one C(pg_hba.conf) entry as the C(mantis.datalayer.postgresql) role takes it
    (keys C(type), C(database), C(user), C(address), C(method)) before anything is written,
    so a typo in a network is reported by name instead of breaking the server's authentication.
  - C(address) must be C(all), C(samehost), C(samenet), a network in CIDR notation
    (V(10.20.0.0/16), V(fd00::/8)) or a host name; a bare IP address without a prefix
    length, an octet above 255, a prefix length out of range or host bits set after the
    prefix (V(10.0.0.5/8)) is a problem.
  - Uses Python's C(ipaddress) module, so it needs neither C(ansible.utils) nor C(netaddr).
options:
  _input:
    description: The entry.
    type: dict
    required: true
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Fail on the first bad entry
  ansible.builtin.assert:
    that: item | mantis.datalayer.pg_hba_entry_problem == ''
    fail_msg: "{{ item | mantis.datalayer.pg_hba_entry_problem }}"
  loop: "{{ postgresql_hba_entries }}"
"""

RETURN = r"""
_value:
  description: A sentence naming the entry and what is wrong with it; empty when the entry is valid.
  type: str
"""

import ipaddress
import re

from ansible.module_utils.common.text.converters import to_text

CONNECTION_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
METHODS = (
    "trust",
    "reject",
    "scram-sha-256",
    "md5",
    "password",
    "gss",
    "sspi",
    "ident",
    "peer",
    "pam",
    "ldap",
    "radius",
    "cert",
)
KEYWORDS = ("all", "samehost", "samenet")
HOSTNAME = re.compile(r"^\.?(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*$")
LOOKS_NUMERIC = re.compile(r"^[0-9.]+$")


def address_problem(address):
    if address in KEYWORDS:
        return ""
    if "/" in address or ":" in address or LOOKS_NUMERIC.match(address):
        if "/" not in address:
            return "address %s has no prefix length (write %s/%d for one host)" % (
                address,
                address,
                128 if ":" in address else 32,
            )
        try:
            ipaddress.ip_network(to_text(address))
        except ValueError as exc:
            return "address %s is not a valid network: %s" % (address, exc)
        return ""
    if HOSTNAME.match(address):
        return ""
    return "address %s is neither a network in CIDR notation nor a host name" % address


def pg_hba_entry_problem(entry):
    if not isinstance(entry, dict):
        return "pg_hba entry %r is not a dictionary" % (entry,)
    label = "pg_hba entry %s" % ", ".join("%s=%s" % (key, entry[key]) for key in sorted(entry))
    conn_type = entry.get("type", "host")
    if conn_type not in CONNECTION_TYPES:
        return "%s: type %s is not one of %s" % (label, conn_type, ", ".join(CONNECTION_TYPES))
    method = entry.get("method", "scram-sha-256")
    if method not in METHODS:
        return "%s: method %s is not one of %s" % (label, method, ", ".join(METHODS))
    address = entry.get("address")
    if conn_type == "local":
        return "%s: a local entry takes no address" % label if address else ""
    if not address:
        return "%s: a %s entry needs an address (a network such as 10.0.0.0/8)" % (label, conn_type)
    problem = address_problem(to_text(address))
    return "%s: %s" % (label, problem) if problem else ""


class FilterModule(object):
    def filters(self):
        return {"pg_hba_entry_problem": pg_hba_entry_problem}
