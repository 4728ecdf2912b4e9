# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description:
      - Host name or IP address of the PostgreSQL server.
      - Empty means the local Unix socket (see O(login_unix_socket)).
    type: str
    default: ''
  login_port:
    description: TCP port of the server (also selects the socket file for Unix-socket connections).
    type: int
    default: 5432
  login_user:
    description: Role to connect as.
    type: str
    default: postgres
  login_password:
    description:
      - Password of O(login_user). Never shown in output, diffs or error messages.
    type: str
    default: ''
  login_unix_socket:
    description: Directory of the server's Unix socket, used when O(login_host) is empty.
    type: str
    default: ''
  login_db:
    description: Database to connect to.
    type: str
    required: true
    aliases: [db, database]
  ssl_mode:
    description: libpq C(sslmode) of the connection.
    type: str
    default: prefer
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
  ca_cert:
    description: CA certificate file to verify the server with (libpq C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description: Seconds to wait for the connection before failing.
    type: int
    default: 10
notes:
  - Requires the C(psycopg2) Python library on the host that runs the module
    (Debian package C(python3-psycopg2)).
  - Set these options once for every module of the collection with
    C(module_defaults) and the action group C(group/mantis.datalayer.postgres).
  - Object names (tables, views, schemas, columns) follow PostgreSQL's rules, as in SQL. A name is C(name) or
    C(schema.name); an unquoted part folds to lower case (C(Sensor_Data) is C(sensor_data)); a double-quoted part
    keeps its case and may hold dots, spaces, doubled quotes and non-ASCII characters (C('"Mäß Schema"."Sensör
    Daten"')). Names longer than 63 bytes are refused, since the server would truncate them. Errors name the option.
requirements:
  - psycopg2
"""
