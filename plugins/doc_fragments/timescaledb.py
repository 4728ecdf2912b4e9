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
  - Needs TimescaleDB 2.18 or newer installed in O(login_db) (C(CREATE EXTENSION timescaledb)), which needs it
    preloaded (C(shared_preload_libraries)). Tested with 2.19 (Debian 13's C(apache) edition) and 2.23 (the
    community edition, in PGlite); written for the current 2.x releases up to 2.29.
  - TimescaleDB 2.18 renamed compression to B(columnstore). The modules use the new names
    (C(add_columnstore_policy), C(remove_columnstore_policy), C(timescaledb.enable_columnstore),
    C(timescaledb.segmentby), C(timescaledb.orderby)); the C(compress) names they replace are deprecated aliases
    in 2.29 and go with the next major release. Releases before 2.18 lack the new names and are refused with a
    message saying how to update.
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
