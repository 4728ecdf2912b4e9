from __future__ import annotations

from ansible_collections.mantis.datalayer.plugins.filter.pg_hba_line import pg_hba_line


def test_defaults_of_the_postgresql_role():
    assert pg_hba_line({"address": "10.20.0.0/16"}) == "host all all 10.20.0.0/16 scram-sha-256"


def test_local_entries_take_no_address_and_options_come_last():
    assert pg_hba_line({"type": "local", "user": "postgres", "method": "peer", "options": "map=admins"}) == (
        "local all postgres peer map=admins"
    )
    assert pg_hba_line({"type": "hostssl", "database": "mantis", "address": "10.0.0.0/8"}, "md5") == (
        "hostssl mantis all 10.0.0.0/8 md5"
    )
