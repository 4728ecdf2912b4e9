# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert rules for the data layer an inventory describes, and promtool unit tests for them.

Each alert is written once, as an ``Alert`` (name, PromQL, severity, annotations); the
tests feed series shaped as the exporters and MANTIS collectors write them (the labels
Prometheus adds from prometheus_targets.scrape_jobs() included) and expect each alert to
fire where it must and stay quiet where it must not. Thresholds come from the settings
(``SETTINGS_DEFAULTS``) and from the schedules the roles install, and the tests are
computed from the same numbers, so ``promtool test rules`` checks the generated rules
whatever the inventory says. Expected annotations are rendered here (``render()``, the
subset of Prometheus' Go templates the alerts use), so a label an annotation names but the
series lack shows up as a failing test, not as "<no value>" in a page at night.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re

from ansible_collections.mantis.datalayer.plugins.module_utils.duration import human_duration, parse_duration
from ansible_collections.mantis.datalayer.plugins.plugin_utils.systemd_calendar import CalendarError, max_interval

# The playbook's settings (variables prometheus_targets_<name>) and their defaults.
SETTINGS_DEFAULTS = {
    # Where the written files are (prometheus_targets_dir); required.
    "dir": "",
    # The same directory as the Prometheus server sees it (when the files are copied there).
    "server_dir": "",
    # Directory on the Prometheus server holding ca.crt and <username>.password.
    "secrets_dir": "/etc/prometheus/mantis",
    "exporter_down_for": "5m",
    "database_down_for": "2m",
    "disk_free_ratio": 0.15,
    "disk_for": "10m",
    "disk_excluded_fstypes": [
        "tmpfs",
        "ramfs",
        "devtmpfs",
        "overlay",
        "squashfs",
        "nsfs",
        "iso9660",
        "autofs",
        "fuse.lxcfs",
    ],
    "timescaledb_metrics_max_age": "15m",
    "timescaledb_job_late_factor": 2,
    "timescaledb_job_late_min": "1h",
    "timescaledb_job_next_start_overdue": "1h",
    "backup_max_age": {},
    "backup_grace": "2h",
    "backup_error_for": "15m",
    "redis_snapshot_max_age": "",
    "redis_snapshot_grace": "30m",
}

_DURATION_SETTINGS = (
    "exporter_down_for",
    "database_down_for",
    "disk_for",
    "timescaledb_metrics_max_age",
    "timescaledb_job_late_min",
    "timescaledb_job_next_start_overdue",
    "backup_grace",
    "backup_error_for",
    "redis_snapshot_grace",
)

# What each exporter is called in an alert, and what to do when it does not answer.
EXPORTER_DOWN = {
    "node": (
        "node exporter",
        "warning",
        "Check that the host is up and reachable from Prometheus, then `systemctl status prometheus-node-exporter`"
        " on it. While it is down, the disk and the TimescaleDB, backup and snapshot alerts of this host cannot fire.",
    ),
    "postgres": (
        "PostgreSQL exporter",
        "warning",
        "`systemctl status prometheus-postgres-exporter` and its journal on the host."
        " While it is down, PostgresDown cannot fire for this host.",
    ),
    "redis": (
        "Redis exporter",
        "warning",
        "`systemctl status prometheus-redis-exporter` and its journal on the host."
        " While it is down, RedisDown cannot fire for this host.",
    ),
    "influxdb": (
        "InfluxDB /metrics endpoint",
        "critical",
        "InfluxDB serves /metrics itself, so InfluxDB is down or unreachable: `systemctl status influxdb` and"
        " `curl -s http://127.0.0.1:8086/health` on the host; Prometheus must reach influxdb_bind_address.",
    ),
}


class SettingsError(ValueError):
    """A setting that cannot be used; the message names its variable."""


def read_settings(settings):
    """The settings with their defaults, durations in seconds; unknown names are errors (typos)."""
    given = {}
    for name, value in (settings or {}).items():
        key = str(name)
        if key.startswith("prometheus_targets_"):
            key = key[len("prometheus_targets_") :]
        if key not in SETTINGS_DEFAULTS:
            raise SettingsError(
                "prometheus_targets_%s is not a setting of this playbook; the settings are: %s"
                % (key, ", ".join("prometheus_targets_" + known for known in sorted(SETTINGS_DEFAULTS)))
            )
        given[key] = value
    result = dict(SETTINGS_DEFAULTS, **given)
    for name in _DURATION_SETTINGS:
        result[name] = _seconds(result[name], "prometheus_targets_" + name)
    for name in ("disk_free_ratio", "timescaledb_job_late_factor"):
        try:
            result[name] = float(result[name])
        except (TypeError, ValueError):
            raise SettingsError("prometheus_targets_%s is %r, not a number" % (name, result[name])) from None
    if not 0 < result["disk_free_ratio"] < 1:
        raise SettingsError(
            "prometheus_targets_disk_free_ratio is %r, not a share between 0 and 1" % result["disk_free_ratio"]
        )
    if not isinstance(result["backup_max_age"], dict):
        raise SettingsError("prometheus_targets_backup_max_age must be a mapping of backup type to duration")
    result["backup_max_age"] = {
        str(kind): _seconds(age, "prometheus_targets_backup_max_age.%s" % kind)
        for kind, age in result["backup_max_age"].items()
    }
    if result["redis_snapshot_max_age"] not in ("", None):
        result["redis_snapshot_max_age"] = _seconds(
            result["redis_snapshot_max_age"], "prometheus_targets_redis_snapshot_max_age"
        )
    else:
        result["redis_snapshot_max_age"] = None
    return result


def _seconds(value, name):
    try:
        return parse_duration(value, name)
    except ValueError as error:
        raise SettingsError(str(error)) from None


def prom_duration(seconds):
    """A Prometheus duration (``1d2h``) for a whole number of seconds."""
    return human_duration(int(seconds))


def readable(seconds):
    """A duration as people read it in an annotation: ``7d 2h 10m``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(int(seconds), size)
        if count:
            parts.append("%d%s" % (count, unit))
    return " ".join(parts) or "0s"


# --- Prometheus' annotation templates, the part the alerts use ----------------------------

_CONDITION = re.compile(r"\{\{ if \$labels\.(\w+) \}\}(.*?)\{\{ end \}\}")
_TEMPLATE = re.compile(r"\{\{\s*(\$labels\.(\w+)|\$value)\s*(?:\|\s*(\w+)\s*)?\}\}")


def humanize_duration(value):
    """Go's humanizeDuration (prometheus/template) for the values alerts show."""
    if value == 0:
        return "0s"
    sign = "-" if value < 0 else ""
    value = abs(value)
    if value < 1:
        raise ValueError("sub-second durations are not rendered here")
    whole = int(value)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return "%s%dd %dh %dm %ds" % (sign, days, hours, minutes, seconds)
    if hours:
        return "%s%dh %dm %ds" % (sign, hours, minutes, seconds)
    if minutes:
        return "%s%dm %ds" % (sign, minutes, seconds)
    return "%s%.4gs" % (sign, value)


def render(template, labels, value):
    """An annotation as Prometheus expands it for an alert with these labels and value."""

    def expand(match):
        if match.group(2):
            text = labels.get(match.group(2), "<no value>")
        else:
            text = value
        function = match.group(3)
        if function == "humanizeDuration":
            return humanize_duration(float(text))
        if function == "humanizePercentage":
            return "%.4g%%" % (float(text) * 100)
        if function:
            raise ValueError("template function %s is not rendered here" % function)
        if isinstance(text, float):
            if text != math.floor(text) or abs(text) >= 1e6:
                raise ValueError("only small whole values are rendered here")
            return "%d" % text
        return str(text)

    # {{ if $labels.x }}...{{ end }}: the text when the alert has that label (Prometheus drops empty labels).
    template = _CONDITION.sub(lambda match: match.group(2) if labels.get(match.group(1)) else "", template)
    if "{{" in _TEMPLATE.sub("", template):
        raise ValueError("unrendered template in %r" % template)
    return _TEMPLATE.sub(expand, template)


class Alert(object):
    """One alerting rule. ``labels`` are its static labels besides the severity; rules of one
    alert name differ in them (promtool's lint reports rules with the same name and labels)."""

    def __init__(self, name, expr, severity, summary, description, for_seconds=0, labels=None):
        self.name = name
        self.expr = expr
        self.labels = dict(labels or {}, severity=severity)
        self.summary = summary
        self.description = description
        self.for_seconds = for_seconds

    def rule(self):
        rule = {"alert": self.name, "expr": self.expr}
        if self.for_seconds:
            rule["for"] = prom_duration(self.for_seconds)
        rule["labels"] = dict(sorted(self.labels.items()))
        rule["annotations"] = {"summary": self.summary, "description": self.description}
        return rule

    def expected(self, labels, value):
        """The alert promtool must see for a series with these labels and this value."""
        return {
            "exp_labels": dict(labels, **self.labels),
            "exp_annotations": {
                "summary": render(self.summary, labels, value),
                "description": render(self.description, labels, value),
            },
        }


# --- promtool tests -----------------------------------------------------------------------
#
# Every input series has a sample a minute. Alerts with a `for` see their condition become
# true at 5m; alerts on an age (time() - a timestamp) get timestamps before the test's start
# (time() is 0 there), so a threshold of days is tested within minutes of evaluation.

INTERVAL = 60
BAD_FROM = 300


class Series(object):
    """One input series of a promtool test: a metric, its labels and its samples."""

    def __init__(self, metric, labels, values):
        self.metric = metric
        self.labels = labels
        self.values = values

    def promtool(self):
        matchers = ",".join('%s="%s"' % (name, _escape(value)) for name, value in sorted(self.labels.items()))
        return {"series": "%s{%s}" % (self.metric, matchers), "values": self.values}


def _escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def _number(value):
    return ("%d" % value) if float(value) == int(value) else repr(float(value))


def constant(value, samples):
    """promtool's expanding notation for a value repeated over ``samples`` samples."""
    return "%s+0x%d" % (_number(value), samples - 1)


def steps(*runs):
    """Runs of (value, samples), e.g. steps((1, 5), (0, 16)): up for five samples, then down."""
    return " ".join("%sx%d" % (_number(value), count - 1) for value, count in runs)


def samples_until(seconds):
    return int(seconds) // INTERVAL + 2


def test_group(name, series, checks):
    """A promtool test group; ``checks`` are (eval seconds, Alert, [(Alert, labels, value)...])."""
    return {
        "name": name,
        "interval": prom_duration(INTERVAL),
        "input_series": [item.promtool() for item in series],
        "alert_rule_test": [
            {
                "eval_time": prom_duration(at),
                "alertname": alert.name,
                "exp_alerts": [firing_alert.expected(labels, value) for firing_alert, labels, value in firing],
            }
            for at, alert, firing in checks
        ],
    }


def state_test(name, alert, metric, labels, good, bad):
    """``metric`` is ``good`` for 5 minutes, then ``bad``; another target's stays ``good``.

    Quiet before, still pending halfway through the alert's ``for``, firing 2 minutes after it.
    """
    wait = alert.for_seconds
    fires_at = BAD_FROM + wait + 120
    samples = samples_until(fires_at)
    checks = [(BAD_FROM - INTERVAL, alert, [])]
    if wait >= 2 * INTERVAL:
        checks.append((BAD_FROM + wait // 2 // INTERVAL * INTERVAL, alert, []))
    checks.append((fires_at, alert, [(alert, labels, float(bad))]))
    return test_group(
        name,
        [
            Series(metric, labels, steps((good, BAD_FROM // INTERVAL), (bad, samples - BAD_FROM // INTERVAL))),
            Series(metric, _another_target(labels), constant(good, samples)),
        ],
        checks,
    )


def age_test(name, alert, metric, labels, threshold):
    """A timestamp ``threshold`` - margin old at 10m (quiet), ``threshold`` + margin old later (firing)."""
    margin = min(600, threshold // 2)
    quiet_at = 600
    fires_at = quiet_at + 2 * margin
    stamp = quiet_at - (threshold - margin)
    return test_group(
        name,
        [Series(metric, labels, constant(stamp, samples_until(fires_at)))],
        [(quiet_at, alert, []), (fires_at, alert, [(alert, labels, float(fires_at - stamp))])],
    )


def regex_alternation(values):
    """A PromQL double-quoted regex matching exactly these values."""
    return "|".join(re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", str(value)) for value in values).replace("\\", "\\\\")


def _role_regex(group):
    return "(.+,)?%s(,.+)?" % group


def _target(jobs, exporter, host=None):
    """The labels Prometheus gives a series scraped from this exporter (of this host)."""
    for job in jobs:
        if job["name"] != exporter:
            continue
        for group in job["targets"]:
            if host is None or group["labels"]["host"] == host:
                return dict(group["labels"], job=exporter, instance=group["targets"][0])
    return None


def _another_target(labels, host="healthy.invalid"):
    """Labels of another target of the same job (by default the healthy one that must not fire)."""
    return dict(labels, instance="%s:%s" % (host, labels["instance"].rpartition(":")[2]), host=host)


def _unique(values):
    seen = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


# --- the rules ----------------------------------------------------------------------------


def exporter_alerts(jobs, settings):
    alerts, tests = [], []
    wait = settings["exporter_down_for"]
    for exporter in _unique(job["name"] for job in jobs):
        what, severity, action = EXPORTER_DOWN[exporter]
        alert = Alert(
            "ExporterDown",
            'up{job="%s"} == 0' % exporter,
            severity,
            "The %s of {{ $labels.host }} does not answer" % what,
            "Prometheus has not scraped %s {{ $labels.instance }} (host {{ $labels.host }}, {{ $labels.mantis_role }})"
            " for %s. %s" % (what, readable(wait), action),
            wait,
            labels={"job": exporter},
        )
        alerts.append(alert)
        tests.append(state_test("ExporterDown: %s" % exporter, alert, "up", _target(jobs, exporter), 1, 0))
    return alerts, tests


def database_alerts(jobs, settings):
    alerts, tests = [], []
    wait = settings["database_down_for"]
    checks = (
        (
            "postgres",
            "PostgresDown",
            "pg_up",
            "PostgreSQL on {{ $labels.host }} is down",
            "The PostgreSQL exporter on {{ $labels.host }} ({{ $labels.instance }}) has not reached its server for %s."
            " On the host: `pg_lsclusters`, `systemctl status postgresql@<version>-main` and the server log in"
            " /var/log/postgresql; if the server runs, the exporter's login role (pg_monitor) cannot log in.",
        ),
        (
            "redis",
            "RedisDown",
            "redis_up",
            "Redis on {{ $labels.host }} is down",
            "The Redis exporter on {{ $labels.host }} ({{ $labels.instance }}) has not reached Redis for %s."
            " On the host: `systemctl status redis-server` and /var/log/redis; if Redis runs, check the exporter's"
            " ACL user and password.",
        ),
    )
    for exporter, name, metric, summary, description in checks:
        labels = _target(jobs, exporter)
        if labels is None:
            continue
        alert = Alert(name, "%s == 0" % metric, "critical", summary, description % readable(wait), wait)
        alerts.append(alert)
        tests.append(state_test("%s: %s 1, then 0" % (name, metric), alert, metric, labels, 1, 0))
    return alerts, tests


def disk_alerts(jobs, settings):
    ratio = settings["disk_free_ratio"]
    wait = settings["disk_for"]
    selector = '{fstype!~"%s"}' % regex_alternation(settings["disk_excluded_fstypes"])
    alert = Alert(
        "DiskAlmostFull",
        "(\n  node_filesystem_avail_bytes%s\n    / node_filesystem_size_bytes%s\n) < %s"
        % (selector, selector, _number(ratio)),
        "warning",
        "{{ $labels.mountpoint }} on {{ $labels.host }} is almost full",
        "Only {{ $value | humanizePercentage }} of {{ $labels.mountpoint }} ({{ $labels.device }})"
        " on {{ $labels.host }} has been free for %s (the alert is below %s). On a database host look first at"
        " what grows by itself: hypertables whose retention or columnstore job fails or is late"
        " (TimescaleDBJobFailing, TimescaleDBJobLate), WAL kept back by a failing archive_command"
        " (PgBackRestError), the pgBackRest repository and the Redis snapshots (redis_snapshot_keep);"
        " then add space." % (readable(wait), "%g%%" % (ratio * 100)),
        wait,
    )
    node = _target(jobs, "node")
    size = 100 * 2**30
    fires_at = BAD_FROM + wait + 120
    samples = samples_until(fires_at)
    filling = dict(node, device="/dev/sda1", fstype="ext4", mountpoint="/")
    half = dict(node, device="/dev/sdb1", fstype="ext4", mountpoint="/var/lib/postgresql")
    tmpfs = dict(node, device="tmpfs", fstype="tmpfs", mountpoint="/run")
    # Used 50 %, then 90 % (with the default threshold; in general: a third below it).
    full_free = int(size * min(0.1, ratio * 2 / 3))
    series = [
        Series("node_filesystem_avail_bytes", filling, steps((size // 2, 5), (full_free, samples - 5))),
        Series("node_filesystem_avail_bytes", half, constant(size // 2, samples)),
        Series("node_filesystem_avail_bytes", tmpfs, constant(int(size * ratio / 3), samples)),
    ]
    series += [
        Series("node_filesystem_size_bytes", labels, constant(size, samples)) for labels in (filling, half, tmpfs)
    ]
    checks = [(BAD_FROM - INTERVAL, alert, [])]
    if wait >= 2 * INTERVAL:
        checks.append((BAD_FROM + wait // 2 // INTERVAL * INTERVAL, alert, []))
    checks.append((fires_at, alert, [(alert, filling, float(full_free) / size)]))
    test = test_group(
        "DiskAlmostFull: / from 50 % to 90 % used fires; 50 % used and a full tmpfs do not", series, checks
    )
    return [alert], [test]


# The job TimescaleDB's Apache edition schedules and that fails there on every run.
APACHE_FAILING_JOB = "policy_job_stat_history_retention"


def timescaledb_alerts(hosts, jobs, settings):
    tsdb_hosts = [host["name"] for host in hosts if "timescaledb" in host["groups"]]
    if not tsdb_hosts:
        return [], []
    node = _target(jobs, "node", tsdb_hosts[0])
    max_age = settings["timescaledb_metrics_max_age"]
    factor = settings["timescaledb_job_late_factor"]
    late_min = settings["timescaledb_job_late_min"]
    overdue = settings["timescaledb_job_next_start_overdue"]
    textfile = 'node_textfile_mtime_seconds{file=~".*mantis_timescaledb\\\\.prom"}'
    collector_action = (
        " Until it works the TimescaleDB job alerts of this host cannot fire. The collector runs from a systemd timer"
        " (`systemctl list-timers 'mantis-*'`); its journal says why it fails."
    )
    unreadable = Alert(
        "TimescaleDBCollectorFailing",
        "mantis_timescaledb_up == 0",
        "warning",
        "TimescaleDB metrics of {{ $labels.database }} on {{ $labels.host }} are not collected",
        "The TimescaleDB metrics collector on {{ $labels.host }} could not read database {{ $labels.database }}"
        " (mantis_timescaledb_up is 0): is PostgreSQL up and may the collector's login role read"
        " timescaledb_information?" + collector_action,
        5 * 60,
        labels={"reason": "database_unreadable"},
    )
    stale = Alert(
        "TimescaleDBCollectorFailing",
        "time() - %s > %d" % (textfile, max_age),
        "warning",
        "TimescaleDB metrics of {{ $labels.host }} are stale",
        "{{ $labels.file }} on {{ $labels.host }} was last written {{ $value | humanizeDuration }} ago (the alert is"
        " after %s): the collector's timer does not run or the collector fails before it writes."
        % readable(max_age)
        + collector_action,
        labels={"reason": "textfile_stale"},
    )
    missing = Alert(
        "TimescaleDBCollectorFailing",
        'up{job="node", mantis_role=~"%s"} == 1\nunless on (instance)\n  %s' % (_role_regex("timescaledb"), textfile),
        "warning",
        "No TimescaleDB metrics from {{ $labels.host }}",
        "The node exporter of TimescaleDB host {{ $labels.host }} serves no mantis_timescaledb.prom: the collector"
        " has never written it (is the monitoring role applied to this host?)." + collector_action,
        max_age,
        labels={"reason": "textfile_missing"},
    )

    job_where = (
        "job {{ $labels.job_id }} ({{ $labels.proc_name }}, {{ $labels.job_type }})"
        "{{ if $labels.hypertable }} on {{ $labels.hypertable }}{{ end }}"
        " in database {{ $labels.database }} on {{ $labels.host }}"
    )
    failing = [
        Alert(
            "TimescaleDBJobFailing",
            "(\n  mantis_timescaledb_job_consecutive_failures%s > 0\n  or\n"
            "  mantis_timescaledb_job_last_run_success%s == 0\n)\n"
            # TimescaleDB's Apache edition schedules its own job-history retention job, which fails there by design
            # ("functionality not supported under the current apache license"; seen on Debian 13's 2.19.3): not
            # an alert on that edition, and still one on the community edition.
            "unless on (instance, database, proc_name)\n"
            '  label_replace(mantis_timescaledb_info{license="apache"}, "proc_name", "%s", "", "")'
            % (selector, selector, APACHE_FAILING_JOB),
            severity,
            "TimescaleDB {{ $labels.job_type }} job {{ $labels.job_id }}"
            "{{ if $labels.hypertable }} on {{ $labels.hypertable }}{{ end }}"
            " fails on {{ $labels.host }}",
            "The last run of TimescaleDB %s failed. %s See why: SELECT * FROM timescaledb_information.job_errors WHERE"
            " job_id = {{ $labels.job_id }} ORDER BY start_time DESC LIMIT 5; fix the cause, then run it once by hand:"
            " CALL run_job({{ $labels.job_id }});" % (job_where, why),
        )
        for selector, severity, why in (
            (
                '{job_type=~"retention|columnstore"}',
                "critical",
                "A hypertable whose retention or columnstore job fails grows until the disk is full.",
            ),
            (
                '{job_type!~"retention|columnstore"}',
                "warning",
                "Dashboards and features read what it should have refreshed or computed.",
            ),
        )
    ]
    late_success = Alert(
        "TimescaleDBJobLate",
        "(\n  time() - mantis_timescaledb_job_last_success_timestamp_seconds\n"
        "    > clamp_min(mantis_timescaledb_job_schedule_interval_seconds * %s, %d)\n)\n"
        "and mantis_timescaledb_job_scheduled == 1" % (_number(factor), late_min),
        "warning",
        "TimescaleDB job {{ $labels.job_id }} on {{ $labels.host }}"
        " has not succeeded for {{ $value | humanizeDuration }}",
        "Scheduled TimescaleDB %s last succeeded {{ $value | humanizeDuration }} ago, more than %s times its schedule"
        " interval (and at least %s). Look at its runs: SELECT * FROM timescaledb_information.job_stats WHERE"
        " job_id = {{ $labels.job_id }}; and at the scheduler (timescaledb.max_background_workers used up, or a"
        " database left in restoring mode: SHOW timescaledb.restoring)."
        % (job_where, _number(factor), readable(late_min)),
        labels={"reason": "no_recent_success"},
    )
    late_start = Alert(
        "TimescaleDBJobLate",
        "time() - mantis_timescaledb_job_next_start_timestamp_seconds > %d\nand mantis_timescaledb_job_scheduled == 1"
        % overdue,
        "warning",
        "TimescaleDB job {{ $labels.job_id }} on {{ $labels.host }} did not start when due",
        "Scheduled TimescaleDB %s was due to start {{ $value | humanizeDuration }} ago (the alert is after %s) and"
        " has not: the scheduler does not run it. Check that the scheduler runs (SELECT * FROM pg_stat_activity WHERE"
        " application_name LIKE 'TimescaleDB%%'), that timescaledb.max_background_workers is not used up, and that the"
        " database is not left in restoring mode after a restore (SHOW timescaledb.restoring; SELECT"
        " timescaledb_post_restore();)." % (job_where, readable(overdue)),
        labels={"reason": "start_overdue"},
    )
    alerts = [unreadable, stale, missing, *failing, late_success, late_start]

    def job(job_id, job_type, proc_name, hypertable):
        return dict(
            node,
            database="mantis_timeseries",
            job_id=str(job_id),
            job_type=job_type,
            proc_name=proc_name,
            hypertable=hypertable,
        )

    tests = [
        state_test(
            "TimescaleDBCollectorFailing: a database the collector cannot read",
            unreadable,
            "mantis_timescaledb_up",
            dict(node, database="mantis_timeseries"),
            1,
            0,
        ),
        age_test(
            "TimescaleDBCollectorFailing: the textfile is no longer written",
            stale,
            "node_textfile_mtime_seconds",
            dict(node, file="/var/lib/prometheus/node-exporter/mantis_timescaledb.prom"),
            max_age,
        ),
    ]
    without_file = _another_target(node, "no-collector.invalid")
    fires_at = max_age + 120
    samples = samples_until(fires_at)
    tests.append(
        test_group(
            "TimescaleDBCollectorFailing: a TimescaleDB host whose node exporter serves no mantis_timescaledb.prom",
            [
                Series("up", node, constant(1, samples)),
                Series(
                    "node_textfile_mtime_seconds", dict(node, file="mantis_timescaledb.prom"), "0+60x%d" % (samples - 1)
                ),
                Series("up", without_file, constant(1, samples)),
                # Not a TimescaleDB host: no collector expected.
                Series("up", dict(_another_target(node, "redis.invalid"), mantis_role="redis"), constant(1, samples)),
            ],
            [(max_age // 2 // INTERVAL * INTERVAL, missing, []), (fires_at, missing, [(missing, without_file, 1.0)])],
        )
    )

    compression = job(1001, "columnstore", "policy_compression", "public.sensor_data_raw")
    refresh = job(1002, "refresh", "policy_refresh_continuous_aggregate", "public.sensor_data_hourly")
    healthy = job(1000, "retention", "policy_retention", "public.sensor_data_raw")
    never_run = job(1003, "retention", "policy_retention", "public.system_events")
    samples = samples_until(600)
    series = []
    for labels, success, failures in ((healthy, 1, 0), (compression, 0, 3), (refresh, 0, 1)):
        series.append(Series("mantis_timescaledb_job_last_run_success", labels, constant(success, samples)))
        series.append(Series("mantis_timescaledb_job_consecutive_failures", labels, constant(failures, samples)))
    # Never run: no last-run or last-success series, no failures.
    series.append(Series("mantis_timescaledb_job_consecutive_failures", never_run, constant(0, samples)))
    series.append(Series("mantis_timescaledb_job_scheduled", never_run, constant(1, samples)))
    # The job-history retention job failing: on the Apache edition (by design there) it does not fire,
    # on the community edition it does.
    history = {}
    for database, license_name in (("apache_db", "apache"), ("community_db", "timescale")):
        # A job of no hypertable has no hypertable label (Prometheus drops empty labels).
        labels = {key: value for key, value in job(3, "other", APACHE_FAILING_JOB, "").items() if key != "hypertable"}
        labels["database"] = database
        history[license_name] = labels
        info = dict(node, database=database, license=license_name, version="2.19.3")
        series.append(Series("mantis_timescaledb_info", info, constant(1, samples)))
        series.append(Series("mantis_timescaledb_job_last_run_success", labels, constant(0, samples)))
        series.append(Series("mantis_timescaledb_job_consecutive_failures", labels, constant(1, samples)))
    tests.append(
        test_group(
            "TimescaleDBJobFailing: failing columnstore (critical) and refresh (warning) jobs, the job-history"
            " retention job on the community edition; a healthy and a never-run job, and that job on the Apache"
            " edition, do not",
            series,
            [
                (
                    600,
                    failing[0],
                    [
                        (failing[0], compression, 3.0),
                        (failing[1], refresh, 1.0),
                        (failing[1], history["timescale"], 1.0),
                    ],
                )
            ],
        )
    )
    tests.append(_late_jobs_test(job, late_success, late_start, factor, late_min, overdue))
    return alerts, tests


def _late_jobs_test(job, late_success, late_start, factor, late_min, overdue):
    """Jobs just before and just after their thresholds at 30m, all quiet at 10m.

    Each job's threshold is computed here as the rule states it (factor x interval, at least
    late_min; or next start + overdue), and the expected alerts follow from the timestamps.
    """
    at = 1800
    daily = max(factor * 86400, late_min)
    frequent = max(factor * 300, late_min)
    retention = ("retention", "policy_retention")
    refresh = ("refresh", "policy_refresh_continuous_aggregate")
    compression = ("columnstore", "policy_compression")
    cases = [
        # job id, type, hypertable, alert, schedule interval, age at 30m, threshold, scheduled
        (2000, retention, "public.sensor_data_raw", late_success, 86400, daily + 600, daily, 1),
        (2001, retention, "public.anomaly_scores", late_success, 86400, daily - 1800, daily, 1),
        # Older than 2 x 5 minutes but not than the floor: quiet.
        (2002, refresh, "public.sensor_data_hourly", late_success, 300, frequent - 600, frequent, 1),
        (2003, refresh, "public.sensor_data_daily", late_success, 300, frequent + 600, frequent, 1),
        # Paused: never late.
        (2004, retention, "public.system_events", late_success, 86400, 10 * daily, daily, 0),
        # Never run: due long ago; due in an hour.
        (2005, compression, "public.sensor_features", late_start, 86400, overdue + 600, overdue, 1),
        (2006, compression, "public.rul_predictions_ts", late_start, 86400, -3600, overdue, 1),
    ]
    jobs = [
        (job(job_id, kind[0], kind[1], hypertable), alert, interval, age, threshold, scheduled)
        for job_id, kind, hypertable, alert, interval, age, threshold, scheduled in cases
    ]
    samples = samples_until(at)
    series, checks = [], []
    for labels, alert, interval, age, _threshold, scheduled in jobs:
        stamp = at - age
        metric = "last_success_timestamp_seconds" if alert is late_success else "next_start_timestamp_seconds"
        series.append(Series("mantis_timescaledb_job_" + metric, labels, constant(stamp, samples)))
        series.append(Series("mantis_timescaledb_job_schedule_interval_seconds", labels, constant(interval, samples)))
        series.append(Series("mantis_timescaledb_job_scheduled", labels, constant(scheduled, samples)))
    for when in (600, at):
        firing = [
            (alert, labels, float(when - (at - age)))
            for labels, alert, _interval, age, threshold, scheduled in jobs
            if scheduled and when - (at - age) > threshold
        ]
        checks.append((when, late_success, firing))
    return test_group(
        "TimescaleDBJobLate: jobs just past their thresholds fire;"
        " those just before, a paused one and one not yet due do not",
        series,
        checks,
    )


def _schedule_threshold(schedule, delay, grace, where, variable):
    try:
        gap = max_interval(schedule)
    except CalendarError as error:
        raise SettingsError(
            "%s %r: its interval cannot be read (%s); set %s" % (where, schedule, error, variable)
        ) from None
    return gap + delay + grace, gap


def _grouped_by_threshold(items):
    """[(threshold, detail, key)] -> [(threshold, detail, [keys])], in first-seen order."""
    groups = []
    for threshold, detail, key in items:
        for group in groups:
            if group[0] == threshold and group[1] == detail:
                if key not in group[2]:
                    group[2].append(key)
                break
        else:
            groups.append((threshold, detail, [key]))
    return groups


def _age_rule(selector, label, groups):
    """time() - <selector> > threshold, one term per group of keys sharing a threshold; and its explanation."""
    if len(groups) == 1:
        threshold, detail, _keys = groups[0]
        return "time() - %s{%s} > %d" % (selector[0], selector[1], threshold), detail
    terms, details = [], []
    for threshold, detail, keys in groups:
        matchers = ", ".join(filter(None, [selector[1], '%s=~"%s"' % (label, regex_alternation(keys))]))
        terms.append("time() - %s{%s} > %d" % (selector[0], matchers, threshold))
        details.append("for %s: %s" % (", ".join(keys), detail))
    return "\nor\n".join(terms), "; ".join(details)


def backup_alerts(hosts, jobs, settings):
    """pgBackRest (stanzas of database hosts with backups) and Redis snapshot alerts."""
    backups = [host for host in hosts if "backup" in host]
    snapshots = [host for host in hosts if host.get("redis_snapshots")]
    if not backups and not snapshots:
        return [], []
    wait = settings["backup_error_for"]
    metrics_down = Alert(
        "BackupMetricsFailing",
        "mantis_backup_metrics_up == 0",
        "warning",
        "Backup metrics ({{ $labels.source }}) of {{ $labels.host }} are not collected",
        "The backup metrics collector on {{ $labels.host }} could not read {{ $labels.source }} for %s, so"
        " BackupTooOld and RedisSnapshotTooOld cannot fire for it. Its systemd timer (`systemctl list-timers"
        " 'mantis-*'`) and journal say why." % readable(wait),
        wait,
    )
    source, source_host = (
        ("pgbackrest", backups[0]["backup"]["runner"]) if backups else ("redis_snapshot", snapshots[0]["name"])
    )
    alerts = [metrics_down]
    tests = [
        state_test(
            "BackupMetricsFailing: a source the collector cannot read",
            metrics_down,
            "mantis_backup_metrics_up",
            dict(_target(jobs, "node", source_host) or _target(jobs, "node"), source=source),
            1,
            0,
        )
    ]
    if backups:
        error = Alert(
            "PgBackRestError",
            "mantis_pgbackrest_status_code != 0",
            "critical",
            "pgBackRest reports an error for stanza {{ $labels.stanza }}",
            "`pgbackrest info` on {{ $labels.host }} has reported status code {{ $value }} for stanza"
            ' {{ $labels.stanza }} for %s (0 is ok; 2 is "no valid backups"). Run `pgbackrest --stanza={{'
            " $labels.stanza }} info` and `pgbackrest --stanza={{ $labels.stanza }} check` there as the repository's"
            " user; while WAL cannot be archived it stays on the database host's disk." % readable(wait),
            wait,
        )
        alerts.append(error)
        repo = _target(jobs, "node", backups[0]["backup"]["runner"]) or _target(jobs, "node")
        tests.append(
            state_test(
                "PgBackRestError: status code 0, then 2 (no valid backups)",
                error,
                "mantis_pgbackrest_status_code",
                dict(repo, stanza=backups[0]["backup"]["stanza"]),
                0,
                2,
            )
        )
        for alert, alert_tests in (
            _backup_age_alert(kind, backups, jobs, settings) for kind in ("full", "diff", "incr")
        ):
            if alert:
                alerts.append(alert)
                tests.extend(alert_tests)
    if snapshots:
        alert, alert_tests = _snapshot_age_alert(snapshots, jobs, settings)
        alerts.append(alert)
        tests.extend(alert_tests)
    return alerts, tests


def _backup_age_alert(kind, backups, jobs, settings):
    items = []
    for host in backups:
        backup = host["backup"]
        schedule = backup["schedule"][kind]
        if kind in settings["backup_max_age"]:
            threshold = settings["backup_max_age"][kind]
            detail = "prometheus_targets_backup_max_age.%s is %s" % (kind, readable(threshold))
        elif schedule:
            threshold, gap = _schedule_threshold(
                schedule,
                backup["delay"],
                settings["backup_grace"],
                "pgbackrest_schedule.%s of %s" % (kind, backup["runner"]),
                "prometheus_targets_backup_max_age.%s" % kind,
            )
            detail = 'its schedule "%s" leaves up to %s between backups; the alert is after %s' % (
                schedule,
                readable(gap),
                readable(threshold),
            )
        else:
            continue  # no timer for this type
        items.append((threshold, detail, backup["stanza"]))
    if not items:
        return None, []
    groups = _grouped_by_threshold(items)
    expr, detail = _age_rule(("mantis_pgbackrest_last_backup_timestamp_seconds", 'type="%s"' % kind), "stanza", groups)
    alert = Alert(
        "BackupTooOld",
        expr,
        "critical",
        "The newest %s backup of stanza {{ $labels.stanza }} is {{ $value | humanizeDuration }} old" % kind,
        "The newest %s backup of stanza {{ $labels.stanza }} in the repository on {{ $labels.host }} finished"
        " {{ $value | humanizeDuration }} ago; %s. See why the last ones did not run: `systemctl status"
        " pgbackrest-{{ $labels.stanza }}-%s.service` and its journal on {{ $labels.host }}, and"
        " `pgbackrest --stanza={{ $labels.stanza }} info`." % (kind, detail, kind),
        labels={"type": kind},
    )
    tests = []
    for threshold, _detail, stanzas in groups:
        runner = next(host["backup"]["runner"] for host in backups if host["backup"]["stanza"] == stanzas[0])
        labels = dict(_target(jobs, "node", runner) or _target(jobs, "node"), stanza=stanzas[0], type=kind)
        tests.append(
            age_test(
                "BackupTooOld: %s backup of stanza %s" % (kind, stanzas[0]),
                alert,
                "mantis_pgbackrest_last_backup_timestamp_seconds",
                labels,
                threshold,
            )
        )
    return alert, tests


def _snapshot_age_alert(snapshots, jobs, settings):
    items = []
    for host in snapshots:
        if settings["redis_snapshot_max_age"] is not None:
            threshold = settings["redis_snapshot_max_age"]
            detail = "prometheus_targets_redis_snapshot_max_age is %s" % readable(threshold)
        else:
            threshold, gap = _schedule_threshold(
                host["redis_snapshot_schedule"],
                host["redis_snapshot_delay"],
                settings["redis_snapshot_grace"],
                "redis_snapshot_schedule of %s" % host["name"],
                "prometheus_targets_redis_snapshot_max_age",
            )
            detail = 'redis_snapshot_schedule "%s" takes one every %s; the alert is after %s' % (
                host["redis_snapshot_schedule"],
                readable(gap),
                readable(threshold),
            )
        items.append((threshold, detail, host["name"]))
    groups = _grouped_by_threshold(items)
    expr, detail = _age_rule(("mantis_redis_snapshot_last_success_timestamp_seconds", ""), "host", groups)
    alert = Alert(
        "RedisSnapshotTooOld",
        expr.replace("{}", ""),
        "warning",
        "The newest Redis snapshot of {{ $labels.host }} is {{ $value | humanizeDuration }} old",
        "The newest snapshot in {{ $labels.directory }} on {{ $labels.host }} was taken {{ $value | humanizeDuration }}"
        " ago; %s. `systemctl status mantis-redis-snapshot.service` and its journal on the host say why the last"
        " ones failed (BGSAVE, disk space, the snapshot user's password)." % detail,
    )
    tests = []
    for threshold, _detail, names in groups:
        host = next(item for item in snapshots if item["name"] == names[0])
        tests.append(
            age_test(
                "RedisSnapshotTooOld: snapshots of %s" % host["name"],
                alert,
                "mantis_redis_snapshot_last_success_timestamp_seconds",
                dict(_target(jobs, "node", host["name"]), directory=host["redis_snapshot_dir"]),
                threshold,
            )
        )
    return alert, tests


def alert_rules(hosts, jobs, settings):
    """(rule groups, promtool test groups) for this inventory; settings as read_settings() returns them."""
    groups, tests = [], []
    for name, (alerts, group_tests) in (
        ("mantis-exporters", exporter_alerts(jobs, settings)),
        ("mantis-databases", database_alerts(jobs, settings)),
        ("mantis-hosts", disk_alerts(jobs, settings) if _target(jobs, "node") else ([], [])),
        ("mantis-timescaledb", timescaledb_alerts(hosts, jobs, settings)),
        ("mantis-backups", backup_alerts(hosts, jobs, settings)),
    ):
        if alerts:
            groups.append({"name": name, "rules": [alert.rule() for alert in alerts]})
            tests.extend(group_tests)
    return groups, tests
