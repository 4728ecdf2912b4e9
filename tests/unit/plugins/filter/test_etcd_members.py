from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.filter.etcd_members import etcd_members


def test_defaults_come_from_the_inventory_name():
    members = etcd_members(["db1", "db2"], {"db1": {}, "db2": {}})
    assert [m["initial_cluster_entry"] for m in members] == ["db1=https://db1:2380", "db2=https://db2:2380"]
    assert members[0]["client_url"] == "https://db1:2379"
    assert members[0]["client_endpoint"] == "db1:2379"


def test_inventory_variables_win_over_ansible_host_and_defaults():
    hostvars = {
        "db1": {"ansible_host": "10.0.0.1"},
        "db2": {
            "ansible_host": "10.0.0.2",
            "etcd_address": "10.1.0.2",
            "etcd_name": "plant-b",
            "etcd_client_port": 12379,
        },
    }
    members = etcd_members(["db1", "db2"], hostvars, peer_port=12380)
    assert members[0]["peer_url"] == "https://10.0.0.1:12380"
    assert members[1]["initial_cluster_entry"] == "plant-b=https://10.1.0.2:12380"
    assert members[1]["client_url"] == "https://10.1.0.2:12379"


def test_ipv6_addresses_go_in_brackets():
    members = etcd_members(["db1"], {"db1": {"etcd_address": "fd00::5"}})
    assert members[0]["peer_url"] == "https://[fd00::5]:2380"


def test_unknown_host_and_duplicate_names_fail():
    with pytest.raises(AnsibleFilterError, match="not in the inventory"):
        etcd_members(["db9"], {})
    with pytest.raises(AnsibleFilterError, match="plant is used twice"):
        etcd_members(["a", "b"], {"a": {"etcd_name": "plant"}, "b": {"etcd_name": "plant"}})
