# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory as Prometheus sees it: which hosts run which exporter, where, and how to scrape them.

``read_inventory()`` reads each data-layer host's variables from ``hostvars`` with the roles'
defaults (the roles are not loaded in the play that calls this, so their defaults are not
in ``hostvars``); ``scrape_jobs()`` groups the hosts into Prometheus scrape jobs. Both are
pure: the filter ``mantis.datalayer.prometheus_files`` turns the result into files.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mantis.datalayer.plugins.module_utils.duration import parse_duration

# The inventory groups of the data layer, in the order site.yml applies their roles.
# The cluster groups (high availability) follow: their hosts get the node exporter, and the Redis
# exporter where they run Redis; the members of a Patroni cluster have no PostgreSQL exporter yet.
MANTIS_GROUPS = (
    "postgresql",
    "timescaledb",
    "influxdb",
    "redis",
    "backup",
    "postgresql_cluster",
    "timescaledb_cluster",
    "redis_cluster",
)

# What each host variable is when the inventory does not set it: the defaults of
# roles/monitoring (the monitoring contract of issue #15), roles/influxdb, roles/redis and
# roles/pgbackrest. tests/unit/plugins/plugin_utils/test_prometheus_targets.py checks them
# against the roles' defaults files. Defaults computed from the host (its address, the
# stanza, the repository host, whether backups are on) are in read_inventory().
HOST_DEFAULTS = {
    "monitoring_listen_address": "0.0.0.0",
    "monitoring_node_exporter_port": 9100,
    "monitoring_postgres_exporter_port": 9187,
    "monitoring_redis_exporter_port": 9121,
    "monitoring_web_tls_enabled": False,
    "monitoring_web_basic_auth_username": "",
    "influxdb_bind_address": "127.0.0.1:8086",
    "redis_snapshots": True,
    "redis_snapshot_schedule": "hourly",
    "redis_snapshot_randomized_delay": 0,
    "redis_snapshot_dir": "/var/backups/redis",
    "pgbackrest_schedule": {
        "full": "Sun *-*-* 01:00:00",
        "diff": "Mon..Sat *-*-* 01:00:00",
        "incr": "*-*-* 07..23:00:00",
    },
    "pgbackrest_schedule_random_delay": "10min",
}

BACKUP_TYPES = ("full", "diff", "incr")

# One scrape job per exporter, and the inventory groups whose hosts run it. InfluxDB 2
# serves /metrics itself, on its API address, over http and without the exporters' web
# configuration (TLS, basic auth).
EXPORTERS = (
    ("node", MANTIS_GROUPS),
    ("postgres", ("postgresql", "timescaledb")),
    ("redis", ("redis", "redis_cluster")),
    ("influxdb", ("influxdb",)),
)

_LOOPBACK = re.compile(r"^(127\.|localhost$|::1$|\[::1\]$)")


class InventoryError(ValueError):
    """A host variable that cannot be used; the message names the host and the variable."""


def _truthy(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on", "y")
    return bool(value)


def _port(value, host, name):
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise InventoryError("%s: %s is %r, not a TCP port" % (host, name, value))
    return port


def _split_address(value, host, name):
    """``host:port``, ``:port`` or ``[v6]:port`` -> (listen host, port)."""
    text = str(value).strip()
    listen, colon, port = text.rpartition(":")
    if not colon:
        raise InventoryError("%s: %s is %r, not an address:port" % (host, name, value))
    return listen.strip("[]"), _port(port, host, name)


def _duration(value, host, name):
    try:
        return parse_duration(value, "%s: %s" % (host, name))
    except ValueError as error:
        raise InventoryError(str(error)) from None


def target_address(address, port):
    """``host:port`` as Prometheus writes a target, with brackets around an IPv6 address."""
    if ":" in address and not address.startswith("["):
        address = "[%s]" % address
    return "%s:%d" % (address, port)


class HostView(object):
    """One inventory host's variables, with the roles' defaults where the inventory has none."""

    def __init__(self, name, variables, defaults):
        self.name = name
        self._variables = variables
        self._defaults = defaults

    def get(self, name, default=None):
        if self._variables is not None and name in self._variables:
            return self._variables[name]
        return self._defaults.get(name, default)


def read_inventory(hostvars, groups):
    """The data-layer hosts as plain dicts, in inventory order.

    ``hostvars`` and ``groups`` are Ansible's (or dicts shaped like them). Only the
    variables named here are read, so vaulted secrets the play does not need are never
    decrypted.
    """
    groups = dict(groups)
    names = []
    for group in MANTIS_GROUPS:
        for name in groups.get(group) or []:
            if name not in names:
                names.append(name)
    backup_group = list(groups.get("backup") or [])
    db_hosts = [name for name in names if set(_groups_of(name, groups)) & {"postgresql", "timescaledb"}]

    hosts = []
    for name in names:
        view = _view(hostvars, name)
        host = {
            "name": str(name),
            "groups": _groups_of(name, groups),
            "address": str(view.get("monitoring_scrape_host", view.get("ansible_host", name))),
            "listen_address": str(view.get("monitoring_listen_address")),
            "tls": _truthy(view.get("monitoring_web_tls_enabled")),
            "basic_auth_username": str(view.get("monitoring_web_basic_auth_username") or ""),
            "ports": {
                "node": _port(view.get("monitoring_node_exporter_port"), name, "monitoring_node_exporter_port"),
                "postgres": _port(
                    view.get("monitoring_postgres_exporter_port"), name, "monitoring_postgres_exporter_port"
                ),
                "redis": _port(view.get("monitoring_redis_exporter_port"), name, "monitoring_redis_exporter_port"),
            },
        }
        if "influxdb" in host["groups"]:
            listen, port = _split_address(view.get("influxdb_bind_address"), name, "influxdb_bind_address")
            host["ports"]["influxdb"] = port
            host["influxdb_listen"] = listen
        if "redis" in host["groups"] or "redis_cluster" in host["groups"]:
            host["redis_snapshots"] = _truthy(view.get("redis_snapshots"))
            host["redis_snapshot_schedule"] = str(view.get("redis_snapshot_schedule"))
            host["redis_snapshot_delay"] = _duration(
                view.get("redis_snapshot_randomized_delay"), name, "redis_snapshot_randomized_delay"
            )
            host["redis_snapshot_dir"] = str(view.get("redis_snapshot_dir"))
        if name in db_hosts:
            # As playbooks/site.yml and roles/pgbackrest decide it: backups are on when the
            # inventory has a `backup` group (or site_backups says so), the repository is on
            # the first `backup` host unless pgbackrest_repo_host says otherwise, and the host
            # that keeps the repository runs the backups with its own schedule.
            if _truthy(view.get("site_backups", bool(backup_group))):
                repo = str(view.get("pgbackrest_repo_host", backup_group[0] if backup_group else "") or "")
                runner = repo if repo and repo != name else str(name)
                runner_view = _view(hostvars, runner)
                schedule = runner_view.get("pgbackrest_schedule") or {}
                host["backup"] = {
                    "stanza": str(view.get("pgbackrest_stanza", re.sub(r"[^A-Za-z0-9_-]", "-", str(name)))),
                    "runner": runner,
                    "schedule": {kind: str(schedule.get(kind) or "") for kind in BACKUP_TYPES},
                    "delay": _duration(
                        runner_view.get("pgbackrest_schedule_random_delay"), runner, "pgbackrest_schedule_random_delay"
                    ),
                }
        hosts.append(host)
    return hosts


def _view(hostvars, name):
    # A repository host outside the inventory has no variables: the roles' defaults apply.
    return HostView(name, hostvars[name] if name in hostvars else None, HOST_DEFAULTS)


def _groups_of(name, groups):
    return [group for group in MANTIS_GROUPS if name in (groups.get(group) or [])]


def _scrape_profile(exporter, host):
    """How Prometheus scrapes this exporter of this host: (scheme, basic auth username)."""
    if exporter == "influxdb":
        return ("http", "")
    return ("https" if host["tls"] else "http", host["basic_auth_username"])


def scrape_jobs(hosts):
    """The scrape jobs of the data layer: one per exporter, split where hosts scrape differently.

    Returns a list of dicts: ``name`` (the ``job`` label), ``job_name`` (unique in
    prometheus.yml), ``scheme``, ``basic_auth_username``, ``metrics_path`` and ``targets``
    (one target group per host: its address and the labels ``host`` and ``mantis_role``).

    TLS and basic auth are per-host variables, while scheme and credentials are per scrape
    job in Prometheus: hosts that differ (a plant half-way through turning TLS on) get a
    job each (``node-https``, ``node-http``), all labelled ``job="node"``.
    """
    jobs = []
    for exporter, exporter_groups in EXPORTERS:
        members = [host for host in hosts if set(host["groups"]) & set(exporter_groups)]
        profiles = []
        for host in members:
            if _scrape_profile(exporter, host) not in profiles:
                profiles.append(_scrape_profile(exporter, host))
        for scheme, username in profiles:
            job_name = exporter
            if len(profiles) > 1:
                job_name = "-".join(
                    [exporter, scheme] + ([re.sub(r"[^A-Za-z0-9_-]", "_", username)] if username else [])
                )
            targets = [
                {
                    "targets": [target_address(host["address"], host["ports"][exporter])],
                    "labels": {
                        "host": host["name"],
                        "mantis_role": ",".join(group for group in host["groups"] if group in exporter_groups),
                    },
                }
                for host in members
                if _scrape_profile(exporter, host) == (scheme, username)
            ]
            jobs.append(
                {
                    "name": exporter,
                    "job_name": job_name,
                    "scheme": scheme,
                    "basic_auth_username": username,
                    "metrics_path": "/metrics",
                    "targets": targets,
                }
            )
    return jobs


def scrape_warnings(hosts):
    """Hosts whose exporters listen where a Prometheus server on another machine cannot reach them."""
    warnings = []
    for host in hosts:
        remote = not _LOOPBACK.match(host["address"])
        if remote and _LOOPBACK.match(host["listen_address"]):
            warnings.append(
                "%s: the exporters listen on %s (monitoring_listen_address) but are scraped at %s"
                % (host["name"], host["listen_address"], host["address"])
            )
        if remote and "influxdb_listen" in host and _LOOPBACK.match(host["influxdb_listen"]):
            warnings.append(
                "%s: InfluxDB listens on %s:%d (influxdb_bind_address), so its /metrics cannot be scraped at %s;"
                " bind it to an address Prometheus reaches"
                % (host["name"], host["influxdb_listen"], host["ports"]["influxdb"], host["address"])
            )
    return warnings
