# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: timescaledb_extension_change
short_description: What the timescaledb extension of a database needs, given its installed and the packaged version
version_added: 0.1.0
description:
  - C(create) when the extension is not created in the database (no installed version).
  - C(update) when the installed version is older than the packaged one (the package was upgraded);
    C(ALTER EXTENSION timescaledb UPDATE) must then be the first command of a fresh session,
    since the old version's library is gone with the old package.
  - C(downgrade) when the installed version is newer than the packaged one (an older package was
    installed over a newer one); TimescaleDB cannot update backwards, so nothing should be tried.
  - C(none) when both are the same.
  - Versions compare by their numeric parts (V(2.9.3) is older than V(2.19.3)); a pre-release
    (V(2.20.0-rc1)) is older than its release.
positional: packaged
options:
  _input:
    description: C(extversion) of the extension in the database; empty or null when it is not created.
    type: str
    required: true
  packaged:
    description: C(default_version) of the installed C(timescaledb.control).
    type: str
    required: true
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Update after a package upgrade
  ansible.builtin.command:
    argv: [psql, -X, -d, mantis_timeseries, -c, ALTER EXTENSION timescaledb UPDATE]
  when: installed | mantis.datalayer.timescaledb_extension_change(packaged) == 'update'
"""

RETURN = r"""
_value:
  description: One of C(create), C(update), C(downgrade), C(none).
  type: str
"""

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

VERSION = re.compile(r"^(\d+(?:\.\d+)*)(.*)$")


def version_key(version):
    match = VERSION.match(version)
    if not match:
        raise AnsibleFilterError("timescaledb_extension_change: %r is not a TimescaleDB version" % version)
    numbers = tuple(int(part) for part in match.group(1).split("."))
    numbers += (0,) * (3 - len(numbers))
    suffix = match.group(2)
    # A release sorts after its pre-releases (2.20.0-rc1 < 2.20.0).
    return numbers, suffix == "", suffix


def timescaledb_extension_change(installed, packaged):
    packaged = to_text(packaged or "").strip()
    if not packaged:
        raise AnsibleFilterError(
            "timescaledb_extension_change: no packaged TimescaleDB version (is the package installed?)"
        )
    installed = to_text(installed or "").strip()
    if not installed:
        return "create"
    if installed == packaged:
        return "none"
    return "update" if version_key(installed) < version_key(packaged) else "downgrade"


class FilterModule(object):
    def filters(self):
        return {"timescaledb_extension_change": timescaledb_extension_change}
