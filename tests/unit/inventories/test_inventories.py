"""The shipped inventories: groups, the example's vault flow, and the local demo's hosts.

No server is involved: the plays only template variables on the controller.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
GROUPS = ["postgresql", "timescaledb", "influxdb", "redis"]


def ansible(tool: str, *args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".cache" / "ansible-home" / "collections"))
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.default"
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, env=env, cwd=cwd, check=False)


def inventory_groups(path: Path, *extra: str) -> dict:
    proc = ansible("ansible-inventory", "-i", str(path), "--list", *extra)
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    return {group: listing.get(group, {}).get("hosts", []) for group in GROUPS}


def test_local_inventory_has_one_container_per_database():
    groups = inventory_groups(REPO_ROOT / "inventories" / "local")
    assert groups == {group: [f"mantis-local-{group}"] for group in GROUPS}


def test_example_vault_template_lists_every_vault_variable_the_group_vars_use():
    group_vars = REPO_ROOT / "inventories" / "example" / "group_vars"
    used = set()
    for path in group_vars.rglob("*.yml"):
        used |= set(re.findall(r"\bvault_\w+", path.read_text()))
    template = yaml.safe_load((group_vars / "all" / "vault.yml.example").read_text())
    assert used, "the example group_vars refer to no vault variable"
    assert used == set(template)


@pytest.fixture
def plant(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the example inventory with its vault created as the README says."""
    inventory = tmp_path / "plant1"
    shutil.copytree(REPO_ROOT / "inventories" / "example", inventory)
    vault_dir = inventory / "group_vars" / "all"
    template = (vault_dir / "vault.yml.example").read_text()
    (vault_dir / "vault.yml").write_text(re.sub(r"(vault_(\w+)): CHANGE-ME", r"\1: secret-\2", template))
    password_file = tmp_path / "vault-password"
    password_file.write_text("test-vault-password\n")
    vault = vault_dir / "vault.yml"
    proc = ansible("ansible-vault", "encrypt", "--vault-password-file", str(password_file), str(vault))
    assert proc.returncode == 0, proc.stderr
    assert (vault_dir / "vault.yml").read_text().startswith("$ANSIBLE_VAULT;")
    return inventory, password_file


def test_example_inventory_resolves_secrets_from_the_encrypted_vault(plant, tmp_path):
    inventory, password_file = plant
    assert inventory_groups(inventory, "--vault-password-file", str(password_file)) == {
        group: [f"mantis-{short}-01.plant1.example.com"]
        for group, short in zip(GROUPS, ["meta", "tsdb", "influx", "redis"])
    }
    play = [
        {
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "secrets come from the vault",
                    "ansible.builtin.assert": {
                        "that": [
                            "'postgresql' not in group_names or postgresql_metadata_owner_password == "
                            "'secret-postgresql_metadata_owner_password'",
                            "'influxdb' not in group_names or influxdb_admin_password == "
                            "'secret-influxdb_admin_password'",
                            "'redis' not in group_names or redis_feature_reader_password == "
                            "'secret-redis_feature_reader_password'",
                            "pgbackrest_repo_cipher_pass == 'secret-pgbackrest_repo_cipher_pass'",
                        ]
                    },
                }
            ],
        }
    ]
    playbook = tmp_path / "check.yml"
    playbook.write_text(yaml.safe_dump(play))
    proc = ansible("ansible-playbook", "-i", str(inventory), "--vault-password-file", str(password_file), str(playbook))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "secret-" not in proc.stdout
    # the four database hosts and the backup host
    assert proc.stdout.count("ok=1 ") == 5


def test_example_inventory_without_the_vault_password_is_refused(plant):
    inventory = plant[0]
    proc = ansible("ansible-inventory", "-i", str(inventory), "--list")
    assert proc.returncode != 0
    assert "vault" in (proc.stdout + proc.stderr).lower()
