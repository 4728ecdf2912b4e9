# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  unsupported_edition:
    description:
      - What to do when the server runs TimescaleDB's C(apache) edition (C(SHOW timescaledb.license)), which lacks
        retention, compression and continuous aggregates.
      - V(fail) stops before anything changes, with a message naming the edition and how to install the community
        edition from Timescale's repository.
      - V(skip) changes nothing, reports C(changed=false), warns, and lists the feature in RV(skipped_features).
      - With a list of objects, it applies to every entry. V(fail) fails before any change, naming every entry the
        edition lacks; V(skip) applies the other entries and warns once per skipped entry.
    type: str
    choices: [fail, skip]
    default: fail
notes:
  - Needs TimescaleDB 2.13 or newer, preloaded (C(shared_preload_libraries)) and installed in O(login_db).
  - Retention, compression and continuous aggregates are features of TimescaleDB's community edition
    (C(timescaledb.license = timescale)), shipped only by Timescale's package repository. Debian's
    C(postgresql-*-timescaledb) package is the C(apache) edition.
"""

    # Check and diff mode work the same way in every TimescaleDB module.
    ATTRIBUTES = r"""
attributes:
  check_mode:
    description: Reads the server and reports in RV(queries) what it would run, changing nothing.
    support: full
  diff_mode:
    description: Returns the object before and after the run in C(diff).
    support: full
"""
