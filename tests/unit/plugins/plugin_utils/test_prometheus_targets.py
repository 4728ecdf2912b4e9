"""The inventory as Prometheus sees it: hosts, exporters, ports, scrape profiles."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.mantis.datalayer.plugins.plugin_utils.prometheus_targets import (
    HOST_DEFAULTS,
    InventoryError,
    read_inventory,
    scrape_jobs,
    scrape_warnings,
    target_address,
)

REPO_ROOT = Path(__file__).resolve().parents[4]


def jobs_of(hostvars, groups):
    return {job["job_name"]: job for job in scrape_jobs(read_inventory(hostvars, groups))}


def addresses(job):
    return [group["targets"][0] for group in job["targets"]]


@pytest.mark.parametrize("role", ["monitoring", "influxdb", "redis", "pgbackrest"])
def test_host_defaults_are_the_roles_defaults(role):
    defaults = yaml.safe_load((REPO_ROOT / "roles" / role / "defaults" / "main.yml").read_text())
    ours = {name: value for name, value in HOST_DEFAULTS.items() if name.startswith(role + "_")}
    assert ours, "no default of roles/%s is read" % role
    assert {name: defaults.get(name) for name in ours} == ours


def test_a_host_in_postgresql_and_timescaledb_is_one_postgres_target():
    groups = {"postgresql": ["db1"], "timescaledb": ["db1", "ts2"], "redis": ["cache1"]}
    hostvars = {"db1": {"ansible_host": "10.0.0.1"}, "ts2": {}, "cache1": {"ansible_host": "10.0.0.3"}}
    jobs = jobs_of(hostvars, groups)
    assert list(jobs) == ["node", "postgres", "redis"]
    assert addresses(jobs["postgres"]) == ["10.0.0.1:9187", "ts2:9187"]
    assert jobs["postgres"]["targets"][0]["labels"] == {"host": "db1", "mantis_role": "postgresql,timescaledb"}
    assert addresses(jobs["node"]) == ["10.0.0.1:9100", "ts2:9100", "10.0.0.3:9100"]
    assert jobs["node"]["targets"][2]["labels"] == {"host": "cache1", "mantis_role": "redis"}
    assert addresses(jobs["redis"]) == ["10.0.0.3:9121"]


def test_cluster_hosts_get_the_node_exporter_and_redis_where_they_run_it():
    # Three hosts that are Patroni members and a replicated Redis, one repository host: the
    # monitoring play gives every one the node exporter, the Redis exporter to redis_cluster,
    # and (not yet) no PostgreSQL exporter to the Patroni members.
    members = ["db1", "db2", "db3"]
    groups = {
        "etcd": members,
        "postgresql_cluster": members,
        "timescaledb_cluster": members,
        "redis_cluster": members,
        "backup": ["repo1"],
    }
    jobs = jobs_of({name: {} for name in [*members, "repo1"]}, groups)
    assert list(jobs) == ["node", "redis"]
    assert addresses(jobs["node"]) == ["repo1:9100", "db1:9100", "db2:9100", "db3:9100"]
    assert jobs["node"]["targets"][1]["labels"] == {
        "host": "db1",
        "mantis_role": "postgresql_cluster,timescaledb_cluster,redis_cluster",
    }
    assert addresses(jobs["redis"]) == ["db1:9121", "db2:9121", "db3:9121"]
    assert jobs["redis"]["targets"][0]["labels"] == {"host": "db1", "mantis_role": "redis_cluster"}
    hosts = {host["name"]: host for host in read_inventory({}, groups)}
    assert hosts["db2"]["redis_snapshots"] is True
    assert "redis_snapshots" not in hosts["repo1"]


def test_ports_scrape_host_and_influxdb_address_come_from_the_host():
    groups = {"influxdb": ["influx1"], "backup": ["repo1"]}
    hostvars = {
        "influx1": {
            "ansible_host": "10.0.0.5",
            "monitoring_scrape_host": "influx1.mgmt.example.com",
            "monitoring_node_exporter_port": "19100",
            "influxdb_bind_address": ":8087",
        },
        "repo1": {"ansible_host": "fd00::15"},
    }
    jobs = jobs_of(hostvars, groups)
    assert addresses(jobs["node"]) == ["influx1.mgmt.example.com:19100", "[fd00::15]:9100"]
    assert jobs["node"]["targets"][1]["labels"]["mantis_role"] == "backup"
    assert addresses(jobs["influxdb"]) == ["influx1.mgmt.example.com:8087"]
    assert jobs["influxdb"]["metrics_path"] == "/metrics"
    assert jobs["influxdb"]["scheme"] == "http"


def test_tls_and_basic_auth_apply_to_the_exporters_not_to_influxdb():
    groups = {"influxdb": ["influx1"]}
    hostvars = {"influx1": {"monitoring_web_tls_enabled": "true", "monitoring_web_basic_auth_username": "prom"}}
    jobs = jobs_of(hostvars, groups)
    assert (jobs["node"]["scheme"], jobs["node"]["basic_auth_username"]) == ("https", "prom")
    assert (jobs["influxdb"]["scheme"], jobs["influxdb"]["basic_auth_username"]) == ("http", "")


def test_hosts_that_scrape_differently_get_a_job_each_labelled_with_the_exporter():
    groups = {"redis": ["old", "new"]}
    hostvars = {"old": {}, "new": {"monitoring_web_tls_enabled": True, "monitoring_web_basic_auth_username": "prom"}}
    jobs = scrape_jobs(read_inventory(hostvars, groups))
    assert [(job["job_name"], job["name"], job["scheme"]) for job in jobs] == [
        ("node-http", "node", "http"),
        ("node-https-prom", "node", "https"),
        ("redis-http", "redis", "http"),
        ("redis-https-prom", "redis", "https"),
    ]
    assert [addresses(job) for job in jobs] == [["old:9100"], ["new:9100"], ["old:9121"], ["new:9121"]]


def test_backups_follow_site_yml_and_the_pgbackrest_role():
    groups = {"postgresql": ["meta.plant1"], "timescaledb": ["tsdb"], "backup": ["repo"]}
    hostvars = {
        "meta.plant1": {},
        "tsdb": {"pgbackrest_stanza": "tsdb-main", "pgbackrest_repo_host": ""},
        "repo": {"pgbackrest_schedule": {"full": "daily"}, "pgbackrest_schedule_random_delay": 0},
    }
    hosts = {host["name"]: host for host in read_inventory(hostvars, groups)}
    # The repository host runs the backups of its clients with its own schedule.
    assert hosts["meta.plant1"]["backup"] == {
        "stanza": "meta-plant1",
        "runner": "repo",
        "schedule": {"full": "daily", "diff": "", "incr": ""},
        "delay": 0,
    }
    # A repository on the database host itself: its own (default) schedule.
    assert hosts["tsdb"]["backup"]["runner"] == "tsdb"
    assert hosts["tsdb"]["backup"]["stanza"] == "tsdb-main"
    assert hosts["tsdb"]["backup"]["schedule"] == HOST_DEFAULTS["pgbackrest_schedule"]
    assert hosts["tsdb"]["backup"]["delay"] == 600
    assert "backup" not in hosts["repo"]


def test_no_backup_group_no_backups_unless_site_backups():
    groups = {"postgresql": ["db1", "db2"]}
    hosts = read_inventory({"db1": {}, "db2": {"site_backups": "yes"}}, groups)
    assert ["backup" in host for host in hosts] == [False, True]
    assert hosts[1]["backup"]["runner"] == "db2"


def test_a_repository_host_outside_the_inventory_has_the_role_defaults():
    hosts = read_inventory(
        {"db1": {"pgbackrest_repo_host": "nas.example.com", "site_backups": True}}, {"postgresql": ["db1"]}
    )
    assert hosts[0]["backup"]["runner"] == "nas.example.com"
    assert hosts[0]["backup"]["schedule"] == HOST_DEFAULTS["pgbackrest_schedule"]


def test_redis_snapshot_settings_are_read():
    hosts = read_inventory(
        {
            "r1": {"redis_snapshots": False},
            "r2": {"redis_snapshot_schedule": "*:0/15", "redis_snapshot_randomized_delay": "2m"},
        },
        {"redis": ["r1", "r2"]},
    )
    assert [host["redis_snapshots"] for host in hosts] == [False, True]
    assert (hosts[1]["redis_snapshot_schedule"], hosts[1]["redis_snapshot_delay"]) == ("*:0/15", 120)
    assert hosts[1]["redis_snapshot_dir"] == "/var/backups/redis"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"monitoring_node_exporter_port": "http"}, "monitoring_node_exporter_port is 'http', not a TCP port"),
        ({"monitoring_redis_exporter_port": 70000}, "monitoring_redis_exporter_port is 70000"),
        ({"influxdb_bind_address": "localhost"}, "influxdb_bind_address is 'localhost', not an address:port"),
        ({"redis_snapshot_randomized_delay": "soon"}, "redis_snapshot_randomized_delay"),
    ],
)
def test_unusable_variables_name_the_host_and_the_variable(variables, message):
    with pytest.raises(InventoryError, match="^h1: .*" + message.replace("(", r"\(")):
        read_inventory({"h1": variables}, {"influxdb": ["h1"], "redis": ["h1"]})


def test_warnings_for_what_a_remote_prometheus_cannot_reach():
    hosts = read_inventory(
        {
            "i1": {"ansible_host": "10.0.0.5"},  # InfluxDB's default address is 127.0.0.1:8086
            "i2": {"ansible_host": "10.0.0.6", "influxdb_bind_address": "0.0.0.0:8086"},
            "i3": {
                "ansible_host": "10.0.0.7",
                "influxdb_bind_address": "0.0.0.0:8086",
                "monitoring_listen_address": "127.0.0.1",
            },
            "local": {"ansible_host": "127.0.0.1"},
        },
        {"influxdb": ["i1", "i2", "i3", "local"]},
    )
    warnings = scrape_warnings(hosts)
    assert len(warnings) == 2
    assert warnings[0].startswith("i1: InfluxDB listens on 127.0.0.1:8086 (influxdb_bind_address)")
    assert warnings[1].startswith("i3: the exporters listen on 127.0.0.1 (monitoring_listen_address)")


def test_target_addresses():
    assert target_address("10.0.0.1", 9100) == "10.0.0.1:9100"
    assert target_address("fd00::1", 9100) == "[fd00::1]:9100"
    assert target_address("[fd00::1]", 9100) == "[fd00::1]:9100"
