from __future__ import annotations

from ansible_collections.mantis.datalayer.plugins.filter.patroni_config_patch import patroni_config_patch

STORED = {
    "ttl": 30,
    "loop_wait": 10,
    "synchronous_mode": True,
    "postgresql": {
        "use_pg_rewind": True,
        "parameters": {"max_connections": 100, "shared_preload_libraries": "timescaledb", "work_mem": "4MB"},
        "pg_hba": ["local all all peer", "host replication replicator 10.0.0.1/32 scram-sha-256"],
    },
}


def test_the_same_configuration_needs_no_patch_whatever_the_scalar_types():
    desired = {
        "ttl": "30",
        "synchronous_mode": "true",
        "postgresql": {
            "use_pg_rewind": True,
            "parameters": {"max_connections": "100", "shared_preload_libraries": "timescaledb", "work_mem": "4MB"},
            "pg_hba": ["local all all peer", "host replication replicator 10.0.0.1/32 scram-sha-256"],
        },
    }
    assert patroni_config_patch(STORED, desired) == {}


def test_changed_values_only_and_removed_parameters_as_null():
    desired = {
        "ttl": 30,
        "synchronous_mode": False,
        "postgresql": {"parameters": {"max_connections": 200, "shared_preload_libraries": "timescaledb"}},
    }
    assert patroni_config_patch(STORED, desired) == {
        "synchronous_mode": False,
        "postgresql": {"parameters": {"max_connections": 200, "work_mem": None}},
    }


def test_keys_outside_owned_dictionaries_are_kept_and_lists_replaced_whole():
    desired = {"postgresql": {"pg_hba": ["local all all peer"]}}
    patch = patroni_config_patch(STORED, desired, owned=[])
    assert patch == {"postgresql": {"pg_hba": ["local all all peer"]}}


def test_an_empty_store_gets_everything():
    assert patroni_config_patch({}, {"ttl": 30}) == {"ttl": 30}
