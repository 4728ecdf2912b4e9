from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.filter.pg_hba_entry_problem import pg_hba_entry_problem


@pytest.mark.parametrize(
    "address",
    ["10.20.0.0/16", "192.168.1.7/32", "fd00::/8", "::1/128", "all", "samenet", "scada.plant.local", ".plant.local"],
)
def test_valid_addresses(address):
    assert pg_hba_entry_problem({"address": address, "database": "mantis"}) == ""


@pytest.mark.parametrize(
    "address,expected",
    [
        ("10.20.300.0/24", "10.20.300.0/24 is not a valid network"),
        ("10.0.0.0/33", "10.0.0.0/33 is not a valid network"),
        ("10.0.0.5/8", "10.0.0.5/8 has host bits set"),
        ("10.0.0.5", "has no prefix length (write 10.0.0.5/32"),
        ("fd00::1", "write fd00::1/128"),
        ("not a network", "neither a network"),
    ],
)
def test_invalid_addresses_name_the_entry(address, expected):
    problem = pg_hba_entry_problem({"address": address, "user": "mantis"})
    assert expected in problem
    assert "user=mantis" in problem


def test_host_entry_needs_an_address():
    assert "needs an address" in pg_hba_entry_problem({"type": "hostssl"})


def test_local_entry_takes_none():
    assert pg_hba_entry_problem({"type": "local", "method": "peer"}) == ""
    assert "takes no address" in pg_hba_entry_problem({"type": "local", "address": "10.0.0.0/8"})


def test_unknown_method_and_type():
    assert "method scram is not one of" in pg_hba_entry_problem({"address": "all", "method": "scram"})
    assert "type hots is not one of" in pg_hba_entry_problem({"type": "hots", "address": "all"})
