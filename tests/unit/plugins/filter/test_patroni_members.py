from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.filter.patroni_members import patroni_members


def test_defaults_come_from_the_inventory_name():
    members = patroni_members(["db1", "db2"], {"db1": {}, "db2": {}})
    assert [m["postgresql_endpoint"] for m in members] == ["db1:5432", "db2:5432"]
    assert members[0] == {
        "host": "db1",
        "name": "db1",
        "address": "db1",
        "postgresql_port": 5432,
        "restapi_port": 8008,
        "postgresql_endpoint": "db1:5432",
    }


def test_inventory_variables_win_over_ansible_host_and_defaults():
    hostvars = {
        "db1": {"ansible_host": "10.0.0.1"},
        "db2": {
            "ansible_host": "10.0.0.2",
            "patroni_address": "10.1.0.2",
            "patroni_name": "plant-b",
            "patroni_postgresql_port": "5433",
            "patroni_restapi_port": 18008,
        },
    }
    members = patroni_members(["db1", "db2"], hostvars, restapi_port=9008)
    assert (members[0]["address"], members[0]["restapi_port"]) == ("10.0.0.1", 9008)
    assert members[1]["name"] == "plant-b"
    assert members[1]["postgresql_endpoint"] == "10.1.0.2:5433"
    assert members[1]["restapi_port"] == 18008


def test_ipv6_addresses_go_in_brackets():
    members = patroni_members(["db1"], {"db1": {"patroni_address": "fd00::5"}})
    assert members[0]["postgresql_endpoint"] == "[fd00::5]:5432"


def test_unknown_host_and_duplicate_names_fail():
    with pytest.raises(AnsibleFilterError, match="not in the inventory"):
        patroni_members(["db9"], {})
    with pytest.raises(AnsibleFilterError, match="plant is used twice"):
        patroni_members(["a", "b"], {"a": {"patroni_name": "plant"}, "b": {"patroni_name": "plant"}})
