# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: timescaledb_edition
short_description: The TimescaleDB edition a server runs, from the installed files and the configured license
version_added: 0.1.0
description:
  - Decides which TimescaleDB edition (C(apache) or C(timescale), the community edition) a
    PostgreSQL server runs, without needing the extension to be created anywhere, so the
    answer is right on a fresh host and in check mode.
  - "C(timescaledb.license) is defined only in a database where the extension is created: read
    elsewhere (in C(postgres) on a fresh host) it is undefined. The packages say it instead: the
    community package ships C(timescaledb-tsl-<version>.so) beside C(timescaledb-<version>.so)
    in PostgreSQL's library directory; Debian's Apache package ships only C(timescaledb.so) and
    C(timescaledb-<version>.so)."
  - Only the libraries of the packaged default version count (what a new or updated extension
    loads); a TSL library left behind by another version does not make a community server.
  - A configured license of C(apache) runs the Apache edition even on a community package.
  - The license read in the database with the extension, when given, is what the server
    really runs, and wins.
positional: default_version, configured_license, database_license
options:
  _input:
    description: Names (or paths) of the C(timescaledb*.so) files in PostgreSQL's library directory.
    type: list
    elements: str
    required: true
  default_version:
    description: C(default_version) of the installed C(timescaledb.control); empty when there is none.
    type: str
    required: true
  configured_license:
    description: The license the role is asked to set (C(timescaledb_license)); empty for the package's default.
    type: str
    default: ''
  database_license:
    description:
      - C(current_setting('timescaledb.license', true)) read in a database with the extension.
      - Empty or null when it was not read.
    type: str
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Decide the edition from the packaged files
  ansible.builtin.set_fact:
    timescaledb_edition: >-
      {{ ['timescaledb.so', 'timescaledb-2.29.2.so', 'timescaledb-tsl-2.29.2.so']
         | mantis.datalayer.timescaledb_edition('2.29.2', '', none) }}
  # -> timescale
"""

RETURN = r"""
_value:
  description:
    - C(timescale) (community edition) or C(apache).
    - An empty string when no library of the packaged version is installed.
  type: str
"""

import posixpath

from ansible.module_utils.common.text.converters import to_text


def timescaledb_edition(library_files, default_version, configured_license="", database_license=None):
    if database_license:
        return to_text(database_license).strip().lower()
    names = {posixpath.basename(to_text(path)) for path in library_files or []}
    version = to_text(default_version or "").strip()
    if not version or "timescaledb-%s.so" % version not in names:
        return ""
    if to_text(configured_license or "").strip().lower() == "apache":
        return "apache"
    return "timescale" if "timescaledb-tsl-%s.so" % version in names else "apache"


class FilterModule(object):
    def filters(self):
        return {"timescaledb_edition": timescaledb_edition}
