# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: pgbackrest_stanza
short_description: The default pgBackRest stanza of a database host, from its inventory name
version_added: 0.1.0
description:
  - The pgbackrest role names a host's stanza after the host unless C(pgbackrest_stanza) says
    otherwise. pgBackRest allows letters, digits, C(-) and C(_) in a stanza; every other
    character of the name (the dots of a fully qualified name) becomes C(-).
  - One rule for every place that needs another host's stanza (the role's defaults are not
    visible in other hosts' hostvars), for example
    C(hostvars[host].pgbackrest_stanza | default(host | mantis.datalayer.pgbackrest_stanza)).
options:
  _input:
    description: The host's inventory name.
    type: str
    required: true
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: The stanza of the restored host
  ansible.builtin.debug:
    msg: "{{ hostvars[restore_host].pgbackrest_stanza | default(restore_host | mantis.datalayer.pgbackrest_stanza) }}"
  # mantis-db-01.plant1.example.com -> mantis-db-01-plant1-example-com
"""

RETURN = r"""
_value:
  description: The stanza name.
  type: str
"""

import re

from ansible.module_utils.common.text.converters import to_text

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")


def pgbackrest_stanza(host):
    return _NOT_ALLOWED.sub("-", to_text(host))


class FilterModule(object):
    def filters(self):
        return {"pgbackrest_stanza": pgbackrest_stanza}
