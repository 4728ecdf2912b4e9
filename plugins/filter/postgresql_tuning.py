# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: postgresql_tuning
short_description: PostgreSQL memory and parallelism settings derived from RAM and CPUs
version_added: 0.1.0
description:
  - pgtune's rules for a mixed workload, the one place they are written. The postgresql role
    writes them into its drop-in on a single server; on a Patroni cluster they go into the
    cluster's dynamic configuration, derived from its smallest member.
  - C(shared_buffers) = RAM/4, C(effective_cache_size) = 3/4 RAM, C(maintenance_work_mem) =
    RAM/16 (at most 2 GB), C(work_mem) = (RAM - shared_buffers) / (3 x max_connections) /
    workers per gather (at least 4 MB), C(max_parallel_workers) = CPUs, per gather CPUs/2 (at
    least 1), C(max_worker_processes) = max(8, CPUs).
options:
  _input:
    description: The RAM to size for, in MB.
    type: int
    required: true
  cpus:
    description: The CPUs to size for.
    type: int
    required: true
  max_connections:
    description: The server's C(max_connections).
    type: int
    required: true
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Settings for 8 GB and 4 CPUs with 100 connections
  ansible.builtin.debug:
    msg: "{{ 8192 | mantis.datalayer.postgresql_tuning(cpus=4, max_connections=100) }}"
  # shared_buffers 2048MB, effective_cache_size 6144MB, maintenance_work_mem 512MB,
  # work_mem 10485kB, max_worker_processes 8, max_parallel_workers 4,
  # max_parallel_workers_per_gather 2
"""

RETURN = r"""
_value:
  description: Setting name to value; sizes as strings with their unit, counts as integers.
  type: dict
"""

from ansible.errors import AnsibleFilterError


def _positive(value, name):
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("postgresql_tuning: %s must be a whole number, got %r" % (name, value)) from None
    if number < 1:
        raise AnsibleFilterError("postgresql_tuning: %s must be at least 1, got %r" % (name, value))
    return number


def postgresql_tuning(memory_mb, cpus, max_connections):
    memory = _positive(memory_mb, "the RAM (MB)")
    cpus = _positive(cpus, "cpus")
    connections = _positive(max_connections, "max_connections")
    per_gather = max(1, cpus // 2)
    work_mem_kb = (memory - memory // 4) * 1024 // (connections * 3) // per_gather
    return {
        "shared_buffers": "%dMB" % (memory // 4),
        "effective_cache_size": "%dMB" % (memory * 3 // 4),
        "maintenance_work_mem": "%dMB" % min(memory // 16, 2048),
        "work_mem": "%dkB" % max(4096, work_mem_kb),
        "max_worker_processes": max(8, cpus),
        "max_parallel_workers": cpus,
        "max_parallel_workers_per_gather": per_gather,
    }


class FilterModule(object):
    def filters(self):
        return {"postgresql_tuning": postgresql_tuning}
