"""playbooks/prometheus_targets.yml on a tiny inventory: what it writes, idempotence, check mode.

Runs ansible-playbook on the controller only (nothing connects to the inventory's hosts), four
times for the whole module: check mode on an empty directory, a run, a second run, check mode
again. The promtool tests at the end run where promtool is installed (`make promtool` fetches it
and runs them); elsewhere they are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.ansible_runner import ANSIBLE_PLAYBOOK, COLLECTIONS_DIR, REPO_ROOT

PASSWORD = "never-written-anywhere-4711"

# One host in postgresql and timescaledb, a Redis host with TLS on, basic auth everywhere;
# no backup group. The connection settings for `all` must not reach the play's localhost.
INVENTORY = {
    "all": {
        "vars": {
            "ansible_connection": "community.docker.docker",
            "ansible_become": True,
            "monitoring_web_basic_auth_username": "prometheus",
            "monitoring_web_basic_auth_password": PASSWORD,
        },
        "children": {
            "postgresql": {"hosts": {"db1": {"ansible_host": "192.0.2.10"}}},
            "timescaledb": {"hosts": {"db1": None}},
            "redis": {"hosts": {"cache1": {"ansible_host": "192.0.2.20", "monitoring_web_tls_enabled": True}}},
        },
    }
}


def run_playbook(inventory: Path, directory: Path, *extra: str) -> dict:
    env = dict(
        os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_DIR)
    )
    proc = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(inventory),
            "playbooks/prometheus_targets.yml",
            "-e",
            "prometheus_targets_dir=%s" % directory,
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return json.loads(proc.stdout)["stats"]["localhost"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("prometheus-targets")
    inventory = work / "hosts.yml"
    inventory.write_text(yaml.safe_dump(INVENTORY))
    directory = work / "out"
    check_fresh = run_playbook(inventory, directory, "--check", "--diff")
    created = directory.exists()
    first = run_playbook(inventory, directory)
    second = run_playbook(inventory, directory)
    check_converged = run_playbook(inventory, directory, "--check", "--diff")
    return {
        "directory": directory,
        "check_fresh": check_fresh,
        "created_in_check_mode": created,
        "first": first,
        "second": second,
        "check_converged": check_converged,
    }


def load(path: Path):
    return yaml.safe_load(path.read_text())


def test_check_mode_on_a_fresh_directory_reports_changes_and_writes_nothing(runs):
    assert runs["check_fresh"]["changed"] > 0
    assert not runs["created_in_check_mode"]


def test_a_second_run_and_check_mode_change_nothing(runs):
    assert runs["first"]["changed"] > 0
    assert runs["second"]["changed"] == 0
    assert runs["check_converged"]["changed"] == 0


def test_it_writes_the_configuration_targets_rules_and_tests(runs):
    files = sorted(str(path.relative_to(runs["directory"])) for path in runs["directory"].rglob("*") if path.is_file())
    assert files == [
        "prometheus.yml",
        "rules/mantis.rules.test.yml",
        "rules/mantis.rules.yml",
        "targets/node-http-prometheus.yml",
        "targets/node-https-prometheus.yml",
        "targets/postgres.yml",
        "targets/redis.yml",
    ]


def test_a_host_in_postgresql_and_timescaledb_is_one_postgres_target(runs):
    targets = load(runs["directory"] / "targets" / "postgres.yml")
    assert targets == [
        {"targets": ["192.0.2.10:9187"], "labels": {"host": "db1", "mantis_role": "postgresql,timescaledb"}}
    ]


def test_scrape_configs_use_file_sd_tls_and_a_password_file(runs):
    directory = runs["directory"]
    config = load(directory / "prometheus.yml")
    assert config["rule_files"] == [str(directory / "rules" / "mantis.rules.yml")]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert list(jobs) == ["node-http-prometheus", "node-https-prometheus", "postgres", "redis"]
    # Hosts that differ in TLS get a job each, both labelled job="node".
    assert jobs["node-https-prometheus"]["relabel_configs"] == [{"target_label": "job", "replacement": "node"}]
    assert jobs["redis"]["scheme"] == "https"
    assert jobs["redis"]["tls_config"] == {"ca_file": "/etc/prometheus/mantis/ca.crt"}
    assert jobs["postgres"]["scheme"] == "http"
    assert "tls_config" not in jobs["postgres"]
    for job in jobs.values():
        assert job["basic_auth"] == {
            "username": "prometheus",
            "password_file": "/etc/prometheus/mantis/prometheus.password",
        }
        assert job["file_sd_configs"] == [{"files": [str(directory / "targets" / ("%s.yml" % job["job_name"]))]}]


def test_the_password_is_written_nowhere(runs):
    for path in runs["directory"].rglob("*"):
        if path.is_file():
            assert PASSWORD not in path.read_text(), path


def test_alerts_follow_the_inventory(runs):
    rules = load(runs["directory"] / "rules" / "mantis.rules.yml")
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    # No backup group and no site_backups: no pgBackRest alerts; Redis snapshots are on by default.
    assert "BackupTooOld" not in alerts
    assert "PgBackRestError" not in alerts
    assert {"RedisSnapshotTooOld", "TimescaleDBJobFailing", "TimescaleDBJobLate", "PostgresDown", "RedisDown"} <= alerts
    tests = load(runs["directory"] / "rules" / "mantis.rules.test.yml")
    assert tests["rule_files"] == ["mantis.rules.yml"]


def promtool() -> str | None:
    candidates = [
        os.environ.get("PROMTOOL"),
        str(REPO_ROOT / ".cache" / "host-tools" / "bin" / "promtool"),
        shutil.which("promtool"),
    ]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


needs_promtool = pytest.mark.skipif(promtool() is None, reason="promtool is not installed (make promtool fetches it)")


@needs_promtool
def test_promtool_accepts_the_configuration_and_the_rules_pass_their_tests(runs):
    directory = runs["directory"]
    for args in (
        ["check", "config", str(directory / "prometheus.yml")],
        ["check", "rules", "--lint-fatal", str(directory / "rules" / "mantis.rules.yml")],
        ["test", "rules", str(directory / "rules" / "mantis.rules.test.yml")],
    ):
        proc = subprocess.run([promtool(), *args], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr


@needs_promtool
@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "mantis_redis_snapshot_last_success_timestamp_seconds > 5400",
            "mantis_redis_snapshot_last_success_timestamp_seconds > 7200",
        ),
        ("schedule_interval_seconds * 2, 3600)", "schedule_interval_seconds * 2, 60)"),
        ("and mantis_timescaledb_job_scheduled == 1", "and mantis_timescaledb_job_scheduled >= 0"),
        (
            'consecutive_failures{job_type=~"retention|columnstore"} > 0',
            'consecutive_failures{job_type=~"retention|columnstore"} >= 0',
        ),
        (") < 0.15", ") < 0.05"),
        ("tmpfs|", ""),
        ("for: 5m", "for: 15m"),
        ("on {{ $labels.hypertable }}{{ end }} in database", "on {{ $labels.hypertabel }}{{ end }} in database"),
    ],
)
def test_the_promtool_tests_catch_a_wrong_rule(runs, tmp_path, before, after):
    rules_dir = tmp_path / "rules"
    shutil.copytree(runs["directory"] / "rules", rules_dir)
    rules = rules_dir / "mantis.rules.yml"
    text = rules.read_text()
    assert before in text
    rules.write_text(text.replace(before, after))
    proc = subprocess.run(
        [promtool(), "test", "rules", str(rules_dir / "mantis.rules.test.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, "promtool test rules passed with %r replaced by %r" % (before, after)
