"""Run one Ansible module the way a playbook does and return its result.

Integration tests call the collection's modules through ansible-playbook (not by
importing them), so argument validation, check mode, diff mode and no_log behave
exactly as they do for users.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
# `make collection` links this checkout in as ansible_collections/mantis/datalayer.
COLLECTIONS_DIR = REPO_ROOT / ".cache" / "ansible-home" / "collections"
# The ansible-playbook of the interpreter running the tests (the project's venv).
ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
# The demo's group_vars (inventories/local): the seed's values and local demo secrets.
LOCAL_GROUP_VARS = REPO_ROOT / "inventories" / "local" / "group_vars"


def write_inventory(directory: Path, groups: dict[str, list[str]]) -> Path:
    """An inventory of test hosts (docker connection) by group, with the demo's group_vars."""
    directory.mkdir(parents=True, exist_ok=True)
    inventory = {
        "all": {
            "vars": {"ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"},
            "children": {group: {"hosts": {host: None for host in hosts}} for group, hosts in groups.items()},
        }
    }
    (directory / "hosts.yml").write_text(yaml.safe_dump(inventory))
    link = directory / "group_vars"
    if not link.exists():
        link.symlink_to(LOCAL_GROUP_VARS)
    return directory


@dataclass
class ModuleRun:
    result: dict
    output: str

    @property
    def changed(self) -> bool:
        return bool(self.result.get("changed"))

    @property
    def failed(self) -> bool:
        return bool(self.result.get("failed"))


def run_module(module: str, args: dict, check: bool = False, diff: bool = False) -> ModuleRun:
    """Run `module` with `args` on localhost; return the task result and the full output."""
    play = [
        {
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [{"name": "module under test", module: args, "register": "r", "ignore_errors": True}],
        }
    ]
    with tempfile.TemporaryDirectory() as tmp:
        playbook = Path(tmp, "play.yml")
        playbook.write_text(yaml.safe_dump(play))
        env = dict(os.environ)
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
        env.update(
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_CALLBACK_RESULT_FORMAT="json",
            ANSIBLE_LOCALHOST_WARNING="false",
            ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
            # Modules run with the test's own interpreter, which has the client
            # libraries (psycopg2, redis) installed.
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        )
        cmd = [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    output = proc.stdout + proc.stderr
    try:
        report = json.loads(proc.stdout)
        result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError(f"could not read the module result:\n{output}") from exc
    return ModuleRun(result=result, output=output)
