"""Alert rules and their promtool tests, generated from the inventory.

Whether the rules do what the tests say is promtool's to check (make promtool, and
tests/unit/playbooks/test_prometheus_targets_playbook.py where promtool is installed); here:
which rules an inventory gets, their thresholds, the settings and the annotation renderer.
"""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.plugin_utils.prometheus_rules import (
    SETTINGS_DEFAULTS,
    SettingsError,
    alert_rules,
    humanize_duration,
    read_settings,
    render,
)
from ansible_collections.mantis.datalayer.plugins.plugin_utils.prometheus_targets import read_inventory, scrape_jobs

EXAMPLE_GROUPS = {
    "postgresql": ["meta"],
    "timescaledb": ["tsdb"],
    "influxdb": ["influx"],
    "redis": ["redis"],
    "backup": ["repo"],
}


def rules_of(groups, hostvars=None, settings=None):
    hosts = read_inventory(hostvars or {}, groups)
    rule_groups, tests = alert_rules(hosts, scrape_jobs(hosts), read_settings(settings))
    rules = [rule for group in rule_groups for rule in group["rules"]]
    return rules, tests


def names(rules):
    return sorted({rule["alert"] for rule in rules})


def test_the_whole_data_layer_with_a_backup_host_gets_every_alert():
    rules, tests = rules_of(EXAMPLE_GROUPS)
    assert names(rules) == [
        "BackupMetricsFailing",
        "BackupTooOld",
        "DiskAlmostFull",
        "ExporterDown",
        "PgBackRestError",
        "PostgresDown",
        "RedisDown",
        "RedisSnapshotTooOld",
        "TimescaleDBCollectorFailing",
        "TimescaleDBJobFailing",
        "TimescaleDBJobLate",
    ]
    assert [rule["expr"] for rule in rules if rule["alert"] == "ExporterDown"] == [
        'up{job="node"} == 0',
        'up{job="postgres"} == 0',
        'up{job="redis"} == 0',
        'up{job="influxdb"} == 0',
    ]
    # Every alert is tested.
    tested = {test["alertname"] for group in tests for test in group["alert_rule_test"]}
    assert tested == set(names(rules))


def test_rules_of_one_name_differ_in_their_labels():
    # promtool check rules --lint-fatal rejects rules with the same name and labels.
    rules, _tests = rules_of(EXAMPLE_GROUPS)
    keys = [(rule["alert"], tuple(sorted(rule["labels"].items()))) for rule in rules]
    assert len(keys) == len(set(keys))


def test_without_a_backup_group_there_are_no_backup_alerts():
    groups = dict(EXAMPLE_GROUPS)
    del groups["backup"]
    rules, _tests = rules_of(groups)
    assert not {"BackupTooOld", "PgBackRestError"} & set(names(rules))
    assert "RedisSnapshotTooOld" in names(rules)


def test_site_backups_without_a_backup_group_has_backup_alerts():
    rules, _tests = rules_of({"postgresql": ["db1"]}, {"db1": {"site_backups": True}})
    assert {"BackupTooOld", "PgBackRestError", "BackupMetricsFailing"} <= set(names(rules))


def test_without_timescaledb_hosts_or_redis_snapshots_those_alerts_are_left_out():
    rules, _tests = rules_of({"postgresql": ["db1"], "redis": ["r1"]}, {"r1": {"redis_snapshots": False}})
    assert names(rules) == ["DiskAlmostFull", "ExporterDown", "PostgresDown", "RedisDown"]


def test_backup_thresholds_follow_the_schedule_of_the_repository_host():
    rules, _tests = rules_of(EXAMPLE_GROUPS)
    backup = {rule["labels"]["type"]: rule for rule in rules if rule["alert"] == "BackupTooOld"}
    # The role's schedule: full on Sundays, diff Monday to Saturday, incr hourly 07..23; plus
    # its random delay (10 min) and the grace (2 h).
    grace = 2 * 3600 + 600
    assert backup["full"]["expr"] == (
        'time() - mantis_pgbackrest_last_backup_timestamp_seconds{type="full"} > %d' % (7 * 86400 + grace)
    )
    assert backup["diff"]["expr"].endswith("> %d" % (2 * 86400 + grace))
    assert backup["incr"]["expr"].endswith("> %d" % (8 * 3600 + grace))
    assert (
        'schedule "Sun *-*-* 01:00:00" leaves up to 7d between backups' in backup["full"]["annotations"]["description"]
    )


def test_stanzas_with_different_schedules_get_their_own_thresholds():
    groups = {"postgresql": ["db1", "db2"], "backup": ["repo1", "repo2"]}
    hostvars = {
        "db1": {},
        "db2": {"pgbackrest_repo_host": "repo2"},
        "repo1": {"pgbackrest_schedule": {"full": "daily"}, "pgbackrest_schedule_random_delay": 0},
        "repo2": {"pgbackrest_schedule": {"full": "weekly"}, "pgbackrest_schedule_random_delay": 0},
    }
    rules, tests = rules_of(groups, hostvars, {"backup_grace": "1h"})
    (full,) = [rule for rule in rules if rule["alert"] == "BackupTooOld"]
    assert full["expr"] == (
        'time() - mantis_pgbackrest_last_backup_timestamp_seconds{type="full", stanza=~"db1"} > 90000\n'
        "or\n"
        'time() - mantis_pgbackrest_last_backup_timestamp_seconds{type="full", stanza=~"db2"} > 608400'
    )
    assert [group["name"] for group in tests if group["name"].startswith("BackupTooOld")] == [
        "BackupTooOld: full backup of stanza db1",
        "BackupTooOld: full backup of stanza db2",
    ]


def test_a_backup_max_age_replaces_the_schedule():
    rules, _tests = rules_of(
        {"postgresql": ["db1"]},
        {"db1": {"site_backups": True, "pgbackrest_schedule": {"full": "*-*-01 02:00"}}},
        {"prometheus_targets_backup_max_age": {"full": "32d"}},
    )
    (full,) = [rule for rule in rules if rule["alert"] == "BackupTooOld"]
    assert full["expr"].endswith("> %d" % (32 * 86400))
    assert "prometheus_targets_backup_max_age.full is 32d" in full["annotations"]["description"]


def test_a_schedule_that_cannot_be_read_asks_for_a_threshold():
    with pytest.raises(
        SettingsError,
        match=r"pgbackrest_schedule.full of db1 '\*-\*-01 02:00'.*set prometheus_targets_backup_max_age.full",
    ):
        rules_of(
            {"postgresql": ["db1"]}, {"db1": {"site_backups": True, "pgbackrest_schedule": {"full": "*-*-01 02:00"}}}
        )
    with pytest.raises(SettingsError, match="set prometheus_targets_redis_snapshot_max_age"):
        rules_of({"redis": ["r1"]}, {"r1": {"redis_snapshot_schedule": "*-*-01 02:00"}})


def test_redis_snapshot_threshold_and_per_host_schedules():
    rules, _tests = rules_of(
        {"redis": ["r1", "r2"]}, {"r2": {"redis_snapshot_schedule": "daily", "redis_snapshot_randomized_delay": 300}}
    )
    (snapshot,) = [rule for rule in rules if rule["alert"] == "RedisSnapshotTooOld"]
    assert snapshot["expr"] == (
        'time() - mantis_redis_snapshot_last_success_timestamp_seconds{host=~"r1"} > 5400\n'
        "or\n"
        'time() - mantis_redis_snapshot_last_success_timestamp_seconds{host=~"r2"} > 88500'
    )


def test_timescaledb_thresholds_are_settings():
    rules, _tests = rules_of(
        {"timescaledb": ["tsdb"]},
        settings={
            "timescaledb_job_late_factor": 3,
            "timescaledb_job_late_min": "2h",
            "timescaledb_job_next_start_overdue": "30m",
        },
    )
    late = [rule["expr"] for rule in rules if rule["alert"] == "TimescaleDBJobLate"]
    assert "clamp_min(mantis_timescaledb_job_schedule_interval_seconds * 3, 7200)" in late[0]
    assert "mantis_timescaledb_job_next_start_timestamp_seconds > 1800" in late[1]


def test_disk_threshold_and_excluded_filesystems():
    rules, _tests = rules_of(
        {"redis": ["r1"]}, settings={"disk_free_ratio": "0.1", "disk_excluded_fstypes": ["tmpfs", "fuse.sshfs"]}
    )
    (disk,) = [rule for rule in rules if rule["alert"] == "DiskAlmostFull"]
    assert disk["expr"].endswith(") < 0.1")
    assert 'node_filesystem_avail_bytes{fstype!~"tmpfs|fuse\\\\.sshfs"}' in disk["expr"]
    assert disk["for"] == "10m"


def test_settings_defaults_and_durations():
    settings = read_settings({"prometheus_targets_dir": "/srv/x", "exporter_down_for": "90s"})
    assert settings["dir"] == "/srv/x"
    assert settings["exporter_down_for"] == 90
    assert settings["backup_grace"] == 7200
    assert settings["redis_snapshot_max_age"] is None
    assert set(settings) == set(SETTINGS_DEFAULTS)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"prometheus_targets_disk_fre_ratio": 0.1},
            "prometheus_targets_disk_fre_ratio is not a setting of this playbook",
        ),
        ({"disk_free_ratio": 15}, "prometheus_targets_disk_free_ratio is 15.0, not a share between 0 and 1"),
        ({"disk_free_ratio": "a lot"}, "prometheus_targets_disk_free_ratio is 'a lot', not a number"),
        ({"backup_grace": "two hours"}, "prometheus_targets_backup_grace: 'two hours' is not a duration"),
        ({"backup_max_age": "8d"}, "prometheus_targets_backup_max_age must be a mapping"),
    ],
)
def test_unusable_settings_name_their_variable(settings, message):
    with pytest.raises(SettingsError, match="^" + message):
        read_settings(settings)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (1.5, "1.5s"),
        (59, "59s"),
        (60, "1m 0s"),
        (3600, "1h 0m 0s"),
        (90061, "1d 1h 1m 1s"),
        (-120, "-2m 0s"),
    ],
)
def test_humanize_duration_as_prometheus_writes_it(seconds, text):
    assert humanize_duration(seconds) == text


def test_render_expands_labels_and_values_as_prometheus():
    labels = {"host": "db1", "stanza": "db1"}
    assert render("{{ $labels.host }} is {{ $value | humanizeDuration }} old", labels, 7200.0) == "db1 is 2h 0m 0s old"
    assert render("{{$value|humanizePercentage}} free", labels, 0.1) == "10% free"
    assert render("code {{ $value }}", labels, 2.0) == "code 2"
    assert render("{{ $labels.missing }}", labels, 0.0) == "<no value>"
    with pytest.raises(ValueError):
        render("{{ $value | humanize }}", labels, 1.0)
    with pytest.raises(ValueError):
        render("{{ .Labels.host }}", labels, 1.0)


def test_every_annotation_is_rendered_by_the_tests():
    # The tests' expected annotations come from render(): a template it cannot expand would
    # break test generation, so every rule's annotations must be within its subset.
    rules, _tests = rules_of(EXAMPLE_GROUPS)
    for rule in rules:
        for text in rule["annotations"].values():
            render(text, {}, 60.0)
