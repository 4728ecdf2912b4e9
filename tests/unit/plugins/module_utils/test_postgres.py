from __future__ import annotations

from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import (
    connection_description,
    postgres_argument_spec,
)


def test_password_option_is_no_log():
    assert postgres_argument_spec()["login_password"]["no_log"] is True


def test_connection_description_names_host_port_and_user_but_never_the_password():
    params = {
        "login_host": "db1.plant.local",
        "login_port": 5433,
        "login_user": "mantis",
        "login_password": "s3cret",
        "login_db": "mantis",
        "login_unix_socket": "",
    }
    text = connection_description(params)
    assert "db1.plant.local:5433" in text
    assert "'mantis'" in text
    assert "s3cret" not in text


def test_connection_description_for_the_unix_socket():
    params = {"login_host": "", "login_port": 5432, "login_user": "postgres", "login_db": "x", "login_unix_socket": ""}
    assert "unix socket default" in connection_description(params)
