from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.timescaledb import (
    TimescaleError,
    check_server,
    parse_version,
    preload_libraries,
    unsupported_feature_message,
)

READY = {
    "shared_preload_libraries": "pg_stat_statements,timescaledb",
    "edition": "apache",
    "installed_version": "2.19.3",
    "available_version": "2.19.3",
}


def test_parse_version_ignores_suffixes():
    assert parse_version("2.19.3") == (2, 19, 3)
    assert parse_version("2.20.0-dev") == (2, 20, 0)
    assert parse_version("2.9") == (2, 9, 0)


def test_preload_libraries_reads_quoted_lists():
    assert preload_libraries('pg_stat_statements, "timescaledb"') == ["pg_stat_statements", "timescaledb"]
    assert preload_libraries("") == []


def test_a_ready_server_passes():
    check_server(READY, "mantis_timeseries")


def test_not_preloaded_names_the_setting_and_the_fix_while_the_extension_is_missing():
    with pytest.raises(TimescaleError, match=r"not preloaded.*'pg_stat_statements'.*restart PostgreSQL"):
        check_server(dict(READY, shared_preload_libraries="pg_stat_statements", installed_version=None), "db")


def test_an_extension_that_answers_is_loaded_whatever_the_preload_setting_reads():
    # The TimescaleDB community edition in PGlite loads the library without listing it;
    # a packaged server without the preload refuses connections to the database instead.
    check_server(dict(READY, shared_preload_libraries=""), "db")


def test_extension_missing_in_database_says_create_extension():
    with pytest.raises(TimescaleError, match=r"not installed in database 'db'.*CREATE EXTENSION timescaledb"):
        check_server(dict(READY, installed_version=None), "db")


def test_extension_package_missing():
    with pytest.raises(TimescaleError, match=r"not available on this server"):
        check_server(dict(READY, installed_version=None, available_version=None), "db")


def test_versions_before_the_columnstore_api_are_refused_with_the_update_procedure():
    with pytest.raises(TimescaleError, match=r"2\.17\.2 is installed.*2\.18\.0 or newer.*ALTER EXTENSION"):
        check_server(dict(READY, installed_version="2.17.2"), "db")
    check_server(dict(READY, installed_version="2.18.0"), "db")


def test_tsl_features_on_apache_name_the_edition_and_the_community_edition():
    text = unsupported_feature_message("apache", ["retention policies", "compression"])
    assert text.startswith("retention policies, compression need the TimescaleDB community edition")
    assert '"apache" edition' in text
    assert "packagecloud.io/timescale/timescaledb" in text
    assert "timescaledb-2-postgresql-" in text
