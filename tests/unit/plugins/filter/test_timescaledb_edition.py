from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.filter.timescaledb_edition import timescaledb_edition

# What the packages put into /usr/lib/postgresql/17/lib (names as `find` lists them).
DEBIAN_APACHE = ["timescaledb.so", "timescaledb-2.19.3.so"]
COMMUNITY = ["timescaledb.so", "timescaledb-2.29.2.so", "timescaledb-tsl-2.29.2.so"]


def test_debian_apache_package_is_apache():
    assert timescaledb_edition(DEBIAN_APACHE, "2.19.3") == "apache"


def test_community_package_is_timescale_without_the_extension():
    # The case that failed: a fresh host, nothing created, timescaledb.license unreadable.
    assert timescaledb_edition(COMMUNITY, "2.29.2", "", None) == "timescale"


def test_paths_are_read_by_their_file_name():
    paths = ["/usr/lib/postgresql/17/lib/" + name for name in COMMUNITY]
    assert timescaledb_edition(paths, "2.29.2") == "timescale"


@pytest.mark.parametrize("configured", ["apache", "Apache "])
def test_community_files_with_apache_configured_are_apache(configured):
    assert timescaledb_edition(COMMUNITY, "2.29.2", configured) == "apache"


def test_community_files_with_timescale_configured_are_timescale():
    assert timescaledb_edition(COMMUNITY, "2.29.2", "timescale") == "timescale"


def test_tsl_library_of_another_version_does_not_count():
    # Upgrade leftovers: the TSL library of 2.28.1 stayed behind, the packaged 2.29.2 has none.
    leftovers = ["timescaledb.so", "timescaledb-2.28.1.so", "timescaledb-tsl-2.28.1.so", "timescaledb-2.29.2.so"]
    assert timescaledb_edition(leftovers, "2.29.2") == "apache"


def test_debian_package_after_the_community_one_is_apache():
    leftovers = [*DEBIAN_APACHE, "timescaledb-tsl-2.29.2.so"]
    assert timescaledb_edition(leftovers, "2.19.3") == "apache"


@pytest.mark.parametrize(
    "files,version",
    [([], ""), ([], None), ([], "2.29.2"), (["timescaledb.so"], "2.29.2"), (COMMUNITY, "")],
)
def test_nothing_installed_is_empty(files, version):
    assert timescaledb_edition(files, version) == ""


def test_license_read_in_the_database_wins():
    assert timescaledb_edition(COMMUNITY, "2.29.2", "", "apache") == "apache"
    assert timescaledb_edition(COMMUNITY, "2.29.2", "timescale", "timescale") == "timescale"
    assert timescaledb_edition(DEBIAN_APACHE, "2.19.3", "", "apache") == "apache"


def test_empty_database_license_is_not_an_answer():
    assert timescaledb_edition(COMMUNITY, "2.29.2", "", "") == "timescale"
