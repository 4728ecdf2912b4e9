"""The default stanza rule of the pgbackrest role (plugins/filter/pgbackrest_stanza.py)."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.filter.pgbackrest_stanza import pgbackrest_stanza


@pytest.mark.parametrize(
    ("host", "stanza"),
    [
        ("db01", "db01"),
        ("mantis-db-01.plant1.example.com", "mantis-db-01-plant1-example-com"),
        ("mantis_backup-db", "mantis_backup-db"),
        ("10.20.0.11", "10-20-0-11"),
        ("host:with/odd chars", "host-with-odd-chars"),
    ],
)
def test_every_character_pgbackrest_refuses_becomes_a_dash(host, stanza):
    assert pgbackrest_stanza(host) == stanza
