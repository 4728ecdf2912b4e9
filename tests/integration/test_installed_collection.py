"""The collection as users get it: built into a tarball, installed, and run by FQCN.

`ansible-playbook mantis.datalayer.site` must work from an installed copy of the
collection, with nothing of this checkout on the collections path: the tarball has to
carry the playbooks, roles, modules and module_utils the site needs, and leave out the
checkout's caches. The installed site converges a fresh systemd test host of group
`redis`, `mantis.datalayer.verify` passes on it, and a second run changes nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.support.ansible_runner import REPO_ROOT, write_inventory
from tests.support.containers import docker_available, start_host

BIN = Path(sys.executable).parent


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def _recap(stdout: str, host: str) -> dict[str, int]:
    match = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", stdout, re.MULTILINE)
    assert match, f"no recap line for {host}:\n{stdout[-3000:]}"
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built from this checkout and installed into an empty collections path."""
    work = tmp_path_factory.mktemp("installed-collection")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(
        ANSIBLE_HOME=str(work / "ansible-home"),
        ANSIBLE_COLLECTIONS_PATH=str(work / "collections"),
        ANSIBLE_LOCAL_TEMP=str(work / "tmp"),
    )
    built = _run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(work)], REPO_ROOT, env)
    assert built.returncode == 0, built.stdout + built.stderr
    (tarball,) = work.glob("mantis-datalayer-*.tar.gz")
    install = [str(BIN / "ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(work / "collections")]
    done = _run([*install, str(tarball)], work, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return work, env, tarball


def test_the_tarball_carries_the_site_and_leaves_the_checkout_caches_out(installed):
    _work, _env, tarball = installed
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    for needed in (
        "playbooks/site.yml",
        "playbooks/verify.yml",
        "playbooks/redis.yml",
        "meta/runtime.yml",
        "roles/redis/meta/argument_specs.yml",
        "roles/timescaledb/tasks/schema.yml",
        "plugins/modules/redis_config.py",
        "plugins/modules/timescale_hypertable.py",
        "plugins/module_utils/duration.py",
    ):
        assert needed in names, f"{needed} is missing from {tarball.name}"
    assert not [name for name in names if name.startswith((".cache", ".venv", ".git/", "tests/output"))]


def test_the_installed_site_converges_verifies_and_is_idempotent(installed):
    if not docker_available():
        pytest.fail("no Docker engine answers: run the integration tests with `make integration`")
    work, env, _tarball = installed
    listing = _run([str(BIN / "ansible-galaxy"), "collection", "list", "mantis.datalayer"], work, env)
    assert str(work / "collections") in listing.stdout, listing.stdout + listing.stderr
    assert str(REPO_ROOT) not in listing.stdout

    name = f"mantis-it-collection-{os.getpid()}"
    host = start_host(name, publish=[], image="mantis-testhost:trixie")
    try:
        inventory = write_inventory(work / "inventory", {"redis": [name]})

        def playbook(*args: str) -> subprocess.CompletedProcess:
            return _run([str(BIN / "ansible-playbook"), "-i", str(inventory), *args], work, env)

        # The container-only redis-server drop-in (test support, not part of the collection).
        prepared = playbook(str(REPO_ROOT / "tests" / "support" / "playbooks" / "test_hosts.yml"))
        assert prepared.returncode == 0, prepared.stdout[-4000:] + prepared.stderr[-2000:]

        first = playbook("mantis.datalayer.site")
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-2000:]
        assert _recap(first.stdout, name)["changed"] > 0
        assert "appendonly yes" in host.sh("cat /etc/redis/redis.conf")

        verified = playbook("mantis.datalayer.verify")
        assert verified.returncode == 0, verified.stdout[-6000:] + verified.stderr[-2000:]
        assert re.search(r"Redis answers PING on 6380\s+PASS", verified.stdout), verified.stdout[-4000:]

        again = playbook("mantis.datalayer.site")
        assert again.returncode == 0, again.stdout[-6000:] + again.stderr[-2000:]
        assert _recap(again.stdout, name)["changed"] == 0, again.stdout[-6000:]
    finally:
        host.remove()
