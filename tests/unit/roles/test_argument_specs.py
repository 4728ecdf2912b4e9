"""Every role's meta/argument_specs.yml: the defaults fit it, and a mistyped key fails with its path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO_ROOT = Path(__file__).resolve().parents[3]
ROLES = sorted(path.parent.parent.name for path in REPO_ROOT.glob("roles/*/meta/argument_specs.yml"))


def role_spec(role: str) -> dict:
    specs = yaml.safe_load((REPO_ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return specs["argument_specs"]["main"]["options"]


def role_defaults(role: str) -> dict:
    """The role's defaults, and a value for each required variable without one (the vaulted secrets)."""
    path = REPO_ROOT / "roles" / role / "defaults" / "main.yml"
    variables = (yaml.safe_load(path.read_text()) or {}) if path.exists() else {}
    for name, option in role_spec(role).items():
        if option.get("required") and name not in variables:
            variables[name] = "a-secret-from-the-vault"
    return variables


@pytest.mark.parametrize("role", ROLES)
def test_the_defaults_fit_the_argument_spec(role):
    result = ArgumentSpecValidator(role_spec(role)).validate(role_defaults(role))
    assert [str(error) for error in result.errors] == []


@pytest.mark.parametrize(
    ("role", "variable", "value", "path"),
    [
        (
            "timescaledb",
            "timescaledb_hypertables",
            [{"name": "t", "retension": "90d"}],
            "timescaledb_hypertables.retension",
        ),
        (
            "timescaledb",
            "timescaledb_hypertables",
            [{"name": "t", "compression": {"after": "7d", "segment_by": ["s"]}}],
            "timescaledb_hypertables.compression.segment_by",
        ),
        (
            "timescaledb",
            "timescaledb_continuous_aggregates",
            [{"name": "h", "query": "SELECT 1", "refresh": {"end_offset": "1h", "schedule": "1h"}}],
            "timescaledb_continuous_aggregates.refresh.schedule",
        ),
        ("influxdb", "influxdb_buckets", [{"name": "sensors", "retenton": "30d"}], "influxdb_buckets.retenton"),
        (
            "influxdb",
            "influxdb_tokens",
            [{"description": "w", "permissions": [{"action": "write", "bucket": "sensors"}]}],
            "influxdb_tokens.permissions.bucket",
        ),
        ("postgresql", "postgresql_users", [{"name": "u", "pasword": "x"}], "postgresql_users.pasword"),
        (
            "postgresql",
            "postgresql_databases",
            [{"name": "d", "extension": ["postgis"]}],
            "postgresql_databases.extension",
        ),
        ("postgresql", "postgresql_hba_entries", [{"adress": "10.0.0.0/8"}], "postgresql_hba_entries.adress"),
        ("redis", "redis_acl_users", [{"name": "app", "pasword": "x"}], "redis_acl_users.pasword"),
    ],
)
def test_a_mistyped_key_fails_with_its_path(role, variable, value, path):
    variables = dict(role_defaults(role), **{variable: value})
    errors = [str(error) for error in ArgumentSpecValidator(role_spec(role)).validate(variables).errors]
    assert any(path in error for error in errors), errors


def test_a_role_run_stops_at_the_mistyped_key_before_any_task(tmp_path):
    """What a user sees: ansible-playbook refuses the role's variables and names the key."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [{"ansible.builtin.include_role": {"name": "mantis.datalayer.timescaledb"}}],
                }
            ]
        )
    )
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".cache" / "ansible-home" / "collections"))
    extra = yaml.safe_dump(
        {"timescaledb_owner_password": "x", "timescaledb_hypertables": [{"name": "t", "retension": "90d"}]}
    )
    (tmp_path / "extra.yml").write_text(extra)
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            "-e",
            "@" + str(tmp_path / "extra.yml"),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode != 0
    assert "Validating arguments against arg spec" in proc.stdout
    assert "timescaledb_hypertables.retension" in proc.stdout
    assert "changed=0" in proc.stdout
