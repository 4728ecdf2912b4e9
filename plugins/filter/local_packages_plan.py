# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: local_packages_plan
short_description: Which local .deb files need installing, from their names and what dpkg has installed
version_added: 0.1.0
description:
  - Plans the install of local package files (the C(local_packages) method of the
    C(mantis.datalayer.packages) role) without opening apt or the files. A file named as
    Debian names them, C(<package>_<version>_<architecture>.deb) (what C(apt-get download)
    writes, an epoch written as C(%3a)), is needed unless dpkg has that package installed at
    exactly that version. A file with another name is always installed (apt then says
    whether anything changed).
  - Also names the required packages that are neither installed nor among the files, and the
    installed packages the files replace (to be removed in the same transaction).
positional: installed, required, replaces
options:
  _input:
    description: The .deb files (paths or names).
    type: list
    elements: str
    required: true
  installed:
    description: Lines of C(dpkg-query --show --showformat='${Package} ${Version} ${db:Status-Abbrev}\n').
    type: list
    elements: str
    required: true
  required:
    description: Packages that must be installed afterwards (from the files or already).
    type: list
    elements: str
    default: []
  replaces:
    description: Packages the files replace; those installed are to be removed in the install transaction.
    type: list
    elements: str
    default: []
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Plan the install
  ansible.builtin.set_fact:
    plan: "{{ packages_local_files | mantis.datalayer.local_packages_plan(dpkg.stdout_lines, ['postgresql-17']) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    install:
      description: The files to install, in the order given.
      type: list
      elements: str
    remove:
      description: Packages of O(replaces) that are installed.
      type: list
      elements: str
    missing:
      description: Packages of O(required) that are neither installed nor the package of one of the files.
      type: list
      elements: str
"""

import posixpath

from ansible.module_utils.common.text.converters import to_text


def deb_file_package(path):
    """(package, version) from a Debian file name, or None when the name does not follow the convention."""
    name = posixpath.basename(to_text(path))
    if not name.endswith(".deb"):
        return None
    parts = name[: -len(".deb")].split("_")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1].replace("%3a", ":").replace("%3A", ":")


def installed_versions(dpkg_lines):
    versions = {}
    for line in dpkg_lines or []:
        fields = to_text(line).split()
        # "ii" is installed; "rc" (removed, configuration kept) and half-installed states are not.
        if len(fields) >= 3 and fields[2] == "ii":
            versions[fields[0].split(":")[0]] = fields[1]
    return versions


def local_packages_plan(files, installed, required=None, replaces=None):
    versions = installed_versions(installed)
    install = []
    provided = set()
    for path in files or []:
        package = deb_file_package(path)
        if package is None:
            install.append(path)
            continue
        provided.add(package[0])
        if versions.get(package[0]) != package[1]:
            install.append(path)
    return {
        "install": install,
        "remove": [name for name in replaces or [] if name in versions and name not in provided],
        "missing": [name for name in required or [] if name not in versions and name not in provided],
    }


class FilterModule(object):
    def filters(self):
        return {"local_packages_plan": local_packages_plan}
