from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.mantis.datalayer.plugins.filter.timescaledb_extension_change import (
    timescaledb_extension_change,
)


@pytest.mark.parametrize("installed", [None, ""])
def test_not_created_is_create(installed):
    assert timescaledb_extension_change(installed, "2.29.2") == "create"


def test_same_version_needs_nothing():
    assert timescaledb_extension_change("2.19.3", "2.19.3") == "none"


@pytest.mark.parametrize(
    "installed,packaged",
    [
        # Debian's Apache package replaced by the community package
        ("2.19.3", "2.29.2"),
        ("2.19.2", "2.19.3"),
        # numeric, not textual: 2.9.3 is older than 2.19.3
        ("2.9.3", "2.19.3"),
        ("2.20.0-rc1", "2.20.0"),
        ("2.19", "2.19.1"),
    ],
)
def test_older_installed_version_is_updated(installed, packaged):
    assert timescaledb_extension_change(installed, packaged) == "update"


@pytest.mark.parametrize("installed,packaged", [("2.29.2", "2.19.3"), ("2.20.0", "2.20.0-rc1")])
def test_newer_installed_version_is_a_downgrade(installed, packaged):
    assert timescaledb_extension_change(installed, packaged) == "downgrade"


@pytest.mark.parametrize("packaged", [None, ""])
def test_no_packaged_version_is_an_error(packaged):
    with pytest.raises(AnsibleFilterError, match="no packaged TimescaleDB version"):
        timescaledb_extension_change("2.19.3", packaged)


def test_unreadable_version_is_an_error():
    with pytest.raises(AnsibleFilterError, match="not a TimescaleDB version"):
        timescaledb_extension_change("latest", "2.19.3")
