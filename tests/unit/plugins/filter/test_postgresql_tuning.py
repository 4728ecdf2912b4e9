"""pgtune's rules for a mixed load (plugins/filter/postgresql_tuning.py), worked by hand."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.filter.postgresql_tuning import postgresql_tuning


def test_a_factory_database_server():
    # 16 GB, 8 CPUs, 100 connections: work_mem = 12288 MB * 1024 / 300 / 4 workers per gather.
    assert postgresql_tuning(16384, 8, 100) == {
        "shared_buffers": "4096MB",
        "effective_cache_size": "12288MB",
        "maintenance_work_mem": "1024MB",
        "work_mem": "10485kB",
        "max_worker_processes": 8,
        "max_parallel_workers": 8,
        "max_parallel_workers_per_gather": 4,
    }


def test_a_small_host_keeps_the_floors():
    # 2 GB and one CPU: work_mem would be 5 MB / 1 (kept), one worker per gather, 8 processes.
    settings = postgresql_tuning(2048, 1, 100)
    assert settings["work_mem"] == "5242kB"
    assert settings["max_parallel_workers_per_gather"] == 1
    assert settings["max_worker_processes"] == 8
    # many connections on a small host: work_mem stops at 4 MB
    assert postgresql_tuning(2048, 1, 1000)["work_mem"] == "4096kB"


def test_a_large_host_caps_maintenance_work_mem_and_follows_its_cpus():
    settings = postgresql_tuning(262144, 64, 400)
    assert settings["maintenance_work_mem"] == "2048MB"
    assert settings["shared_buffers"] == "65536MB"
    assert settings["max_worker_processes"] == 64
    assert settings["max_parallel_workers_per_gather"] == 32


def test_strings_from_the_inventory_are_numbers():
    assert postgresql_tuning("4096", "2", "50") == postgresql_tuning(4096, 2, 50)


@pytest.mark.parametrize(
    ("args", "named"),
    [((0, 2, 100), "RAM"), ((4096, 0, 100), "cpus"), ((4096, 2, "many"), "max_connections")],
)
def test_an_impossible_size_is_refused_naming_it(args, named):
    with pytest.raises(AnsibleFilterError, match=named):
        postgresql_tuning(*args)
