# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: patroni_config_patch
short_description: The PATCH body that turns Patroni's dynamic (DCS) configuration into the desired one
version_added: 0.1.0
description:
  - Compares Patroni's dynamic configuration as C(GET /config) returns it with the desired one and
    returns the smallest body for C(PATCH /config) (Patroni merges it into the stored configuration;
    a C(null) value removes a key). An empty dictionary means nothing to change.
  - Dictionaries are compared key by key; lists (C(pg_hba)) and scalars as a whole. Scalars compare
    as text, so C(100) and C('100'), C(true) and C('true') are equal (YAML and JSON disagree on such types).
  - Keys of the stored configuration that the desired one does not name are kept, except inside the
    dictionaries listed in O(owned) (by default C(postgresql.parameters)), which the desired
    configuration owns entirely; there they are removed with C(null).
options:
  _input:
    description: The current configuration (C(GET /config)).
    type: dict
    required: true
  desired:
    description: The desired configuration.
    type: dict
    required: true
  owned:
    description: Dotted paths of dictionaries whose keys the desired configuration owns.
    type: list
    elements: str
    default: [postgresql.parameters]
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Patch the dynamic configuration
  ansible.builtin.uri:
    url: http://127.0.0.1:8008/config
    method: PATCH
    body_format: json
    body: "{{ current.json | mantis.datalayer.patroni_config_patch(desired) }}"
"""

RETURN = r"""
_value:
  description: The PATCH body; empty when the stored configuration is the desired one.
  type: dict
"""


def same_scalar(current, desired):
    if isinstance(current, bool) or isinstance(desired, bool):
        return str(current).lower() == str(desired).lower()
    return str(current) == str(desired)


def same(current, desired):
    if isinstance(current, dict) and isinstance(desired, dict):
        return not dict_patch(current, desired, "", ())
    if isinstance(current, list) and isinstance(desired, list):
        return len(current) == len(desired) and all(same(c, d) for c, d in zip(current, desired))
    if isinstance(current, (dict, list)) or isinstance(desired, (dict, list)):
        return False
    if current is None or desired is None:
        return current is desired
    return same_scalar(current, desired)


def dict_patch(current, desired, path, owned):
    patch = {}
    for key, value in desired.items():
        key_path = "%s.%s" % (path, key) if path else key
        if key not in current:
            patch[key] = value
        elif isinstance(value, dict) and isinstance(current[key], dict):
            sub = dict_patch(current[key], value, key_path, owned)
            if sub:
                patch[key] = sub
        elif not same(current[key], value):
            patch[key] = value
    if path in owned:
        for key in current:
            if key not in desired:
                patch[key] = None
    return patch


def patroni_config_patch(current, desired, owned=("postgresql.parameters",)):
    return dict_patch(current or {}, desired or {}, "", tuple(owned))


class FilterModule(object):
    def filters(self):
        return {"patroni_config_patch": patroni_config_patch}
