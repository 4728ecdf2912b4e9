from __future__ import annotations

from ansible_collections.mantis.datalayer.plugins.filter.local_packages_plan import local_packages_plan

FILES = [
    "/srv/debs/postgresql-17_17.12-0+deb13u1_amd64.deb",
    "/srv/debs/libio-pty-perl_1%3a1.20-1+b3_amd64.deb",
    "/srv/debs/postgresql-17-timescaledb_2.19.3+dfsg-1+deb13u1_amd64.deb",
]
CONVERGED = [
    "postgresql-17 17.12-0+deb13u1 ii ",
    "libio-pty-perl 1:1.20-1+b3 ii ",
    "postgresql-17-timescaledb 2.19.3+dfsg-1+deb13u1 ii ",
    "python3-psycopg2 2.9.10-1+b1 ii ",
]


def test_fresh_host_installs_every_file():
    plan = local_packages_plan(FILES, ["python3 3.13.5-1 ii "])
    assert plan == {"install": FILES, "remove": [], "missing": []}


def test_converged_host_installs_nothing():
    # The epoch is written %3a in file names and 1: by dpkg.
    assert local_packages_plan(FILES, CONVERGED, ["postgresql-17", "python3-psycopg2"]) == {
        "install": [],
        "remove": [],
        "missing": [],
    }


def test_other_version_installed_is_installed_again():
    lines = [line.replace("17.12-0+deb13u1", "17.11-0+deb13u1") for line in CONVERGED]
    assert local_packages_plan(FILES, lines)["install"] == FILES[:1]


def test_removed_package_with_configuration_left_is_not_installed():
    lines = ["postgresql-17 17.12-0+deb13u1 rc ", *CONVERGED[1:]]
    assert local_packages_plan(FILES, lines)["install"] == FILES[:1]


def test_arch_qualified_dpkg_names_match():
    lines = ["libio-pty-perl:amd64 1:1.20-1+b3 ii "]
    assert FILES[1] not in local_packages_plan(FILES, lines)["install"]


def test_file_not_named_as_debian_names_them_is_always_installed():
    plan = local_packages_plan(["/srv/debs/timescaledb.deb"], CONVERGED)
    assert plan["install"] == ["/srv/debs/timescaledb.deb"]


def test_required_package_neither_installed_nor_given_is_missing():
    plan = local_packages_plan(FILES[2:], [], ["postgresql-17", "python3-psycopg2", "postgresql-17-timescaledb"])
    assert plan["missing"] == ["postgresql-17", "python3-psycopg2"]


def test_installed_replaced_package_is_removed():
    community = [
        "/srv/tsdb/timescaledb-2-loader-postgresql-17_2.29.2~debian13-1712_amd64.deb",
        "/srv/tsdb/timescaledb-2-postgresql-17_2.29.2~debian13-1712_amd64.deb",
    ]
    plan = local_packages_plan(community, CONVERGED, ["postgresql-17"], ["postgresql-17-timescaledb", "not-installed"])
    assert plan == {"install": community, "remove": ["postgresql-17-timescaledb"], "missing": []}


def test_replaced_package_that_is_among_the_files_is_kept():
    plan = local_packages_plan(FILES, CONVERGED, [], ["postgresql-17-timescaledb"])
    assert plan["remove"] == []
