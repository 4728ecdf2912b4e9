# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pg_hba_line
short_description: One pg_hba.conf line from an entry as the postgresql role takes it
version_added: 0.1.0
description:
  - Turns an entry with the keys C(type) (C(host)), C(database) (C(all)), C(user) (C(all)),
    C(address), C(method) and C(options) into the line Patroni's C(pg_hba) list takes, so that the
    patroni role accepts the same entries as the postgresql role's C(postgresql_hba_entries).
  - Check entries with C(mantis.datalayer.pg_hba_entry_problem) first.
options:
  _input:
    description: The entry.
    type: dict
    required: true
  default_method:
    description: Method of an entry that names none.
    type: str
    default: scram-sha-256
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Patroni's pg_hba list
  ansible.builtin.set_fact:
    pg_hba: "{{ entries | map('mantis.datalayer.pg_hba_line') | list }}"
"""

RETURN = r"""
_value:
  description: The line, fields separated by one space.
  type: str
"""


def pg_hba_line(entry, default_method="scram-sha-256"):
    conn_type = entry.get("type", "host")
    fields = [conn_type, entry.get("database", "all"), entry.get("user", "all")]
    if conn_type != "local":
        fields.append(entry["address"])
    fields.append(entry.get("method", default_method))
    if entry.get("options"):
        fields.append(entry["options"])
    return " ".join(str(field) for field in fields)


class FilterModule(object):
    def filters(self):
        return {"pg_hba_line": pg_hba_line}
