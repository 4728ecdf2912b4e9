# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Base URL of the InfluxDB 2 server, for example V(https://influx.plant.local:8086).
    type: str
    default: http://127.0.0.1:8086
  token:
    description:
      - API token sent in the C(Authorization) header. Usually the operator token from onboarding.
      - Never shown in output, diffs, recorded requests or error messages.
    type: str
  org:
    description:
      - Name of the organization the objects belong to.
    type: str
  validate_certs:
    description: Verify the server's TLS certificate (for V(https) URLs).
    type: bool
    default: true
  ca_path:
    description: CA certificate bundle (PEM) to verify the server with, instead of the system's.
    type: path
  timeout:
    description: Seconds to wait for each HTTP request.
    type: int
    default: 10
attributes:
  check_mode:
    description: Reads the server and reports what would change; changes nothing.
    support: full
  diff_mode:
    description: Returns the state before and after in RV(diff).
    support: full
notes:
  - Uses only the Python standard library and ansible-core on the host that runs the module;
    the InfluxDB API is usually reached from the controller (C(delegate_to=localhost)) or from
    the InfluxDB host itself.
  - Set these options once for every InfluxDB module of the collection with
    C(module_defaults) and the action group C(group/mantis.datalayer.influxdb).
  - Every API call made (or, in check mode, planned) is returned in RV(requests) as
    C(METHOD /path?query); tokens are never part of it.
"""
