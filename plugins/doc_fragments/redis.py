# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  login_host:
    description: Host name or IP address of the Redis server.
    type: str
    default: 127.0.0.1
  login_port:
    description: TCP port of the server (the TLS port when O(tls) is set).
    type: int
    default: 6379
  login_user:
    description:
      - ACL user to authenticate as (Redis 6 and newer).
      - Without it, O(login_password) authenticates the C(default) user (C(requirepass)).
      - Without O(login_password), the user logs in with an empty password, which only a C(nopass)
        user accepts.
    type: str
  login_password:
    description: Password of O(login_user). Never shown in output, diffs or error messages.
    type: str
  tls:
    description: Connect with TLS.
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate and host name.
    type: bool
    default: true
  ca_certs:
    description: CA certificate file (PEM) to verify the server with; the system's CAs when omitted.
    type: path
  client_cert_file:
    description: Client certificate (PEM) for servers that require one (C(tls-auth-clients yes)).
    type: path
  client_key_file:
    description: Private key of O(client_cert_file).
    type: path
  connect_timeout:
    description: Seconds to wait for the connection and for each reply.
    type: float
    default: 5.0
notes:
  - Needs only Python on the host that runs the module; the Redis protocol is spoken directly.
  - Set these options once with C(module_defaults) and the action group C(group/mantis.datalayer.redis).
"""
