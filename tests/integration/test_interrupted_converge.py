"""Killed converges of the site recover with one more run (the crash test).

`ansible-playbook site.yml` is killed (SIGKILL, the whole process group) at named points of
a cold converge of four fresh Debian 13 systemd hosts, one per database, by the test-only
callback tests/support/callback/mantis_kill_at.py. Each host works through its own chain
of kill points in a run limited to it (hosts of the site are independent; the four chains
run at once): a killed run, then a re-run killed at the next point of the same cold
converge, then a re-run that must converge. Every kill is checked to have left the state it
is about (dpkg interrupted, a file the server does not run yet, a token without its file),
and every re-run to have repaired the previous point before reaching the next.

    postgresql   apt killed while dpkg configures postgresql-common (dpkg left half-configured)
                 -> right after conf.d/50-mantis-postgresql.conf is written (shared_buffers)
    timescaledb  apt killed while postgresql-17's postinst runs initdb (a cluster without the
                 postgres database) -> right after the TimescaleDB drop-in is written (preload,
                 the issue's case) -> during the schema, after the hypertables, before the grants
    redis        right after the start-up settings are written (port, aclfile)
                 -> right after the ACL file is written
    influxdb     right after onboarding (the operator token must be on disk already)
                 -> right after the writer token is created, before its value is stored

After each chain: the host converges, playbooks/verify.yml passes, another run reports
changed=0, and data is written (rows in `mantis` and `mantis_timeseries`, Redis keys, an
InfluxDB point). Then one run of the whole site on the four hosts, with a changed memory
budget, is killed right after the PostgreSQL drop-in is written and every host is restarted
(docker restart) before the re-run: it converges, verifies, a further run changes nothing,
and every row, key, bucket and token written before is still there and works.

Each re-run's duration is printed at the end (the recovery times).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

# The module, not its TestHost class: pytest would try to collect a Test* name.
from tests.support import containers
from tests.support.ansible_runner import LOCAL_GROUP_VARS, REPO_ROOT
from tests.support.containers import docker_available, run_container, wait_for_boot

ANSIBLE_PLAYBOOK = str(Path(sys.executable).with_name("ansible-playbook"))
CALLBACK_DIR = REPO_ROOT / "tests" / "support" / "callback"
GROUPS = ("postgresql", "timescaledb", "influxdb", "redis")
PREFIX = f"mantis-crash-{os.getpid()}"
PSQL = "runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1"
PG_CONF = "/etc/postgresql/17/main/conf.d"
# A run that hangs (a kill point that never came while the host's processes are frozen) fails
# the test instead of holding up `make test`.
RUN_TIMEOUT = 600
PG_DROP_IN_TASK = "Write the settings to conf.d/50-mantis-postgresql.conf"
PENDING = "(SELECT count(*) FROM pg_settings WHERE pending_restart)"
TOKEN_FILES = ("operator", "sensors-writer", "sensors-reader")

# Waits (in the host) until `condition` holds while apt installs, then freezes the run's whole
# process tree there (the module, apt, dpkg, the maintainer script and what it runs; SIGSTOP,
# so that nothing forks or reports back) for the callback to kill ansible-playbook; the test
# then kills the frozen processes (KILL_FROZEN): what a lost session or a reboot leaves behind.
DPKG_FREEZE = r"""
for _ in $(seq 6000); do
  if %(condition)s; then
    pid=$(pgrep -x -o dpkg) || exit 1
    root=$pid
    while parent=$(ps -o ppid= -p "$root" | tr -d ' ') && [ "$parent" -gt 1 ]; do root=$parent; done
    tree() { echo "$1"; for child in $(pgrep -P "$1"); do tree "$child"; done; }
    kill -STOP $(tree "$root"); kill -STOP $(tree "$root")
    exit 0
  fi
  sleep 0.02
done
exit 1
"""
KILL_FROZEN = "kill -KILL $(ps -eo pid=,stat= | awk '$2 ~ /^T/ {print $1}')"


def configuring(package: str) -> str:
    """Shell test: dpkg is configuring `package` (it is half-configured while its postinst runs)."""
    return f"dpkg-query -W -f='${{db:Status-Abbrev}}' {package} 2>/dev/null | grep -q '^iF'"


def dpkg_kill_point(host: str, condition: str, label: str) -> KillPoint:
    wait = f"docker exec {host} bash -c {shlex.quote(DPKG_FREEZE % {'condition': condition})}"
    return KillPoint(label, "Install from the host's apt sources", on="start", wait=wait)


@dataclass
class KillPoint:
    label: str
    task: str
    on: str = "changed"
    wait: str = ""


@dataclass
class Run:
    args: list[str]
    returncode: int
    seconds: float
    output: str
    killed_at: str = ""

    def recap(self, host: str) -> dict[str, int]:
        match = re.search(rf"^{re.escape(host)}\s+:\s+(.*)$", self.output, re.MULTILINE)
        assert match, f"no recap line for {host}:\n{self.output[-4000:]}"
        return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(1))}

    def task_changed(self, task: str) -> bool:
        """Whether the task whose name contains `task` reported a change."""
        lines = self.output.splitlines()
        for index, line in enumerate(lines):
            if line.startswith("TASK [") and task in line:
                return any(result.startswith("changed:") for result in lines[index + 1 : index + 3])
        return False

    def tail(self) -> str:
        return self.output[-6000:]


@dataclass
class Site:
    """The site's inventory of four test hosts and how ansible-playbook is run against it."""

    hosts: dict[str, containers.TestHost]
    inventory: Path
    env: dict[str, str]
    work: Path
    timings: list[tuple[str, str, str, float]] = field(default_factory=list)

    def run(
        self,
        playbook: str = "site.yml",
        limit: str | None = None,
        kill: KillPoint | None = None,
        extra: dict | None = None,
    ) -> Run:
        args = [ANSIBLE_PLAYBOOK, "-i", str(self.inventory), playbook]
        if limit:
            args += ["--limit", limit]
        if extra:
            args += ["--extra-vars", json.dumps(extra)]
        env = dict(self.env)
        marker = self.work / f"killed-{limit or 'all'}-{time.monotonic_ns()}"
        if kill:
            env.update(
                ANSIBLE_CALLBACK_PLUGINS=str(CALLBACK_DIR),
                ANSIBLE_CALLBACKS_ENABLED="mantis_kill_at",
                MANTIS_KILL_TASK=kill.task,
                MANTIS_KILL_ON=kill.on,
                MANTIS_KILL_HOST=limit or "",
                MANTIS_KILL_WAIT=kill.wait,
                MANTIS_KILL_MARKER=str(marker),
            )
        start = time.monotonic()
        # A session of its own: the callback kills ansible-playbook's whole process group.
        proc = subprocess.Popen(
            args,
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output = proc.communicate(timeout=RUN_TIMEOUT)[0]
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output = proc.communicate()[0]
            raise AssertionError(f"{' '.join(args[3:])}: no end after {RUN_TIMEOUT} s:\n{output[-6000:]}") from None
        seconds = time.monotonic() - start
        killed_at = marker.read_text().splitlines()[0] if marker.exists() else ""
        return Run(args, proc.returncode, seconds, output, killed_at)

    def killed_run(self, limit: str | None, kill: KillPoint, extra: dict | None = None) -> Run:
        run = self.run(limit=limit, kill=kill, extra=extra)
        assert run.returncode == -9 and run.killed_at, (
            f"{kill.label}: the run was not killed at {kill.task!r} (exit {run.returncode}):\n{run.tail()}"
        )
        return run

    def converged_run(self, limit: str | None, after: str, extra: dict | None = None) -> Run:
        run = self.run(limit=limit, extra=extra)
        assert run.returncode == 0, f"re-run after {after} failed:\n{run.tail()}"
        return run

    def verified_and_idempotent(self, limit: str | None, extra: dict | None = None) -> None:
        verified = self.run("playbooks/verify.yml", limit=limit)
        assert verified.returncode == 0, f"verify.yml failed on {limit or 'the site'}:\n{verified.tail()}"
        again = self.run(limit=limit, extra=extra)
        assert again.returncode == 0, again.tail()
        for name in [limit] if limit else [host.name for host in self.hosts.values()]:
            assert again.recap(name)["changed"] == 0, f"a further run changed {name}:\n{again.tail()}"
        self.record(limit or "all four", "verify.yml", verified, "passed")
        self.record(limit or "all four", "a further run", again, "changed=0")

    def record(self, host: str, point: str, rerun: Run, ended: str) -> None:
        self.timings.append((host, point, ended, rerun.seconds))


def psql(host: containers.TestHost, database: str, sql: str) -> str:
    return host.sh(f"{PSQL} -d {database} -c {shlex.quote(sql)}").strip()


def redis_cli(host: containers.TestHost, *args: str, port: int = 6380, auth: bool = True) -> str:
    login = f"--user mantis-admin --pass {shlex.quote(local_var('all', 'demo_redis_admin_password'))} " if auth else ""
    return host.sh(f"redis-cli -p {port} {login}--no-auth-warning {shlex.join(args)}", check=False).strip()


def influx_api(host: containers.TestHost, method: str, path: str, token: str, body: str | None = None) -> int:
    """The HTTP status of one request to the InfluxDB v2 API test double inside the host."""
    script = (
        "import sys, urllib.request, urllib.error\n"
        "req = urllib.request.Request('http://127.0.0.1:8086' + sys.argv[2], method=sys.argv[1],\n"
        "    data=sys.argv[4].encode() if len(sys.argv) > 4 else None,\n"
        "    headers={'Authorization': 'Token ' + sys.argv[3]})\n"
        "try:\n    print(urllib.request.urlopen(req).status)\n"
        "except urllib.error.HTTPError as error:\n    print(error.code)\n"
    )
    args = [method, path, token] + ([body] if body is not None else [])
    return int(host.sh(f"python3 -c {shlex.quote(script)} {shlex.join(args)}").strip())


def local_var(group: str, name: str) -> str:
    return str(yaml.safe_load((LOCAL_GROUP_VARS / f"{group}.yml").read_text())[name])


def postgresql_chain(site: Site, host: containers.TestHost) -> None:
    name = host.name
    install = dpkg_kill_point(
        name, configuring("postgresql-common"), "package installation (dpkg configuring postgresql-common)"
    )
    site.killed_run(name, install)
    host.sh(KILL_FROZEN)
    assert host.sh("dpkg --audit", check=False).strip(), "the kill left no package unfinished"

    drop_in = KillPoint("right after 50-mantis-postgresql.conf is written", PG_DROP_IN_TASK)
    second = site.killed_run(name, drop_in)
    assert second.task_changed("Configure what dpkg left unfinished"), second.tail()
    assert not host.sh("dpkg --audit", check=False).strip()
    site.record(name, install.label, second, "dpkg repaired, killed at the next point")
    # The server runs without the file's memory settings, and nothing says it must restart.
    assert "shared_buffers = '256MB'" in host.sh(f"cat {PG_CONF}/50-mantis-postgresql.conf")
    assert psql(host, "postgres", "SHOW shared_buffers") == "128MB"

    third = site.converged_run(name, drop_in.label)
    site.record(name, drop_in.label, third, "converged")
    assert psql(host, "postgres", f"SELECT current_setting('shared_buffers'), {PENDING}") == "256MB|0"
    site.verified_and_idempotent(name)
    psql(host, "mantis", "INSERT INTO sites (site_code, name) VALUES ('CRASH-TEST', 'written before the restart')")


def timescaledb_chain(site: Site, host: containers.TestHost) -> None:
    name = host.name
    # initdb runs in postgresql-17's postinst: the data directory exists, the cluster is not whole.
    initdb = dpkg_kill_point(
        name,
        f"[ -d /var/lib/postgresql/17/main/base ] && {configuring('postgresql-17')}",
        "package installation (dpkg in postgresql-17's initdb)",
    )
    site.killed_run(name, initdb)
    host.sh(KILL_FROZEN)
    assert host.sh("dpkg --audit", check=False).strip(), "the kill left no package unfinished"

    drop_in = KillPoint("right after the TimescaleDB drop-in is written", "Write the TimescaleDB drop-in")
    second = site.killed_run(name, drop_in)
    assert second.task_changed("Configure what dpkg left unfinished"), second.tail()
    assert second.task_changed("Create the cluster again"), second.tail()
    site.record(name, initdb.label, second, "dpkg repaired, cluster made again, killed at the next point")
    # The state: the file preloads timescaledb, the server does not, nothing pending.
    assert "shared_preload_libraries = 'timescaledb'" in host.sh(f"cat {PG_CONF}/60-mantis-timescaledb.conf")
    assert psql(host, "postgres", f"SELECT current_setting('shared_preload_libraries'), {PENDING}") == "|0"

    schema = KillPoint(
        "during the TimescaleDB schema (hypertables made, grants not yet)",
        "Create the tables (when missing) and keep them hypertables",
    )
    third = site.killed_run(name, schema)
    assert psql(host, "postgres", "SHOW shared_preload_libraries") == "timescaledb"
    site.record(name, drop_in.label, third, "server restarted with the preload, killed at the next point")

    fourth = site.converged_run(name, schema.label)
    site.record(name, schema.label, fourth, "converged")
    site.verified_and_idempotent(name)
    psql(
        host,
        "mantis_timeseries",
        "INSERT INTO sensor_data_raw (time, asset_id, sensor_id, sensor_type, value) "
        "SELECT now() - g * interval '1 minute', gen_random_uuid(), gen_random_uuid(), 'crash-test', g "
        "FROM generate_series(1, 100) g",
    )


def redis_chain(site: Site, host: containers.TestHost) -> None:
    name = host.name
    startup = KillPoint(
        "right after the start-up settings are written", "Write start-up settings to the configuration file"
    )
    site.killed_run(name, startup)
    assert "port 6380" in host.sh("grep -x 'port 6380' /etc/redis/redis.conf", check=False)
    assert redis_cli(host, "PING", port=6379, auth=False) == "PONG", "Redis should still run Debian's settings"

    acl = KillPoint("right after the ACL file is written", "Write the ACL users")
    second = site.killed_run(name, acl)
    site.record(name, startup.label, second, "killed at the next point")

    third = site.converged_run(name, acl.label)
    site.record(name, acl.label, third, "converged")
    assert redis_cli(host, "PING") == "PONG"
    site.verified_and_idempotent(name)
    assert redis_cli(host, "SET", "crash-test:asset", "written before the restart") == "OK"


def influxdb_chain(site: Site, host: containers.TestHost, tokens: Path) -> dict[str, str]:
    name = host.name
    operator_file = tokens / f"{name}-operator.token"
    onboarding = KillPoint("right after onboarding", "Onboard InfluxDB (only when the server allows it)")
    site.killed_run(name, onboarding)
    operator = operator_file.read_text().strip()
    assert influx_api(host, "GET", "/api/v2/orgs", operator) == 200, "the stored operator token does not work"

    writer = KillPoint("right after a token is created (writer, value not stored yet)", "Token mantis sensors writer")
    second = site.killed_run(name, writer)
    assert (tokens / f"{name}-sensors-writer.token.creating").exists()
    assert not (tokens / f"{name}-sensors-writer.token").exists()
    assert operator_file.read_text().strip() == operator
    site.record(name, onboarding.label, second, "killed at the next point")

    third = site.converged_run(name, writer.label)
    site.record(name, writer.label, third, "converged (the writer token replaced)")
    assert not list(tokens.glob("*.creating"))
    site.verified_and_idempotent(name)
    values = {path.name: path.read_text().strip() for path in tokens.glob(f"{name}-*.token")}
    assert set(values) == {f"{name}-{kind}.token" for kind in TOKEN_FILES}
    assert values[operator_file.name] == operator
    point = "sensor_readings,asset_id=a1,sensor_id=s1,sensor_type=vibration value=0.42"
    write = "/api/v2/write?org=mantis-org&bucket=sensors&precision=s"
    assert influx_api(host, "POST", write, values[f"{name}-sensors-writer.token"], point) == 204
    return values


def check_data(site: Site, tokens: dict[str, str]) -> None:
    hosts = site.hosts
    assert psql(hosts["postgresql"], "mantis", "SELECT count(*) FROM sites WHERE site_code = 'CRASH-TEST'") == "1"
    rows = "SELECT count(*) FROM sensor_data_raw WHERE sensor_type = 'crash-test'"
    assert psql(hosts["timescaledb"], "mantis_timeseries", rows) == "100"
    assert redis_cli(hosts["redis"], "GET", "crash-test:asset") == "written before the restart"
    influx = hosts["influxdb"]
    for file_name, value in tokens.items():
        path = site.work / "tokens" / file_name
        assert path.read_text().strip() == value, f"{file_name} changed"
    name = influx.name
    operator, writer, reader = (tokens[f"{name}-{kind}.token"] for kind in TOKEN_FILES)
    assert influx_api(influx, "GET", "/api/v2/buckets?org=mantis-org&name=sensors", operator) == 200
    assert influx_api(influx, "GET", "/api/v2/buckets?org=mantis-org&name=sensors", reader) == 200
    point = "sensor_readings,asset_id=a1,sensor_id=s1,sensor_type=vibration value=0.43"
    assert influx_api(influx, "POST", "/api/v2/write?org=mantis-org&bucket=sensors", writer, point) == 204


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if not docker_available():
        pytest.fail("no Docker engine answers: run the integration tests with `make integration`")
    work = tmp_path_factory.mktemp("crash")
    names = {group: f"{PREFIX}-{group}" for group in GROUPS}
    hosts = {group: run_container(name, publish=[], image="mantis-testhost:trixie") for group, name in names.items()}
    created = list(hosts.values())
    try:
        for host in created:
            wait_for_boot(host)
        inventory = {
            "all": {
                "vars": {
                    "ansible_connection": "community.docker.docker",
                    "ansible_python_interpreter": "/usr/bin/python3",
                },
                "children": {group: {"hosts": {name: None}} for group, name in names.items()},
            }
        }
        # Host variables win over the demo's group_vars (linked below).
        influxdb_hosts = inventory["all"]["children"]["influxdb"]["hosts"]
        influxdb_hosts[names["influxdb"]] = {"influxdb_token_dir": str(work / "tokens")}
        (work / "inventory").mkdir()
        (work / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        (work / "inventory" / "group_vars").symlink_to(LOCAL_GROUP_VARS)
        env = dict(os.environ, ANSIBLE_CACHE_PLUGIN_CONNECTION=str(work / "facts"), ANSIBLE_FORCE_COLOR="0")
        env.pop("ANSIBLE_CALLBACKS_ENABLED", None)
        site = Site(hosts=hosts, inventory=work / "inventory" / "hosts.yml", env=env, work=work)
        prepared = site.run("tests/support/playbooks/test_hosts.yml")
        assert prepared.returncode == 0, prepared.tail()
        yield site
    finally:
        for host in created:
            host.remove()


def test_killed_converges_recover_with_one_more_run(site, capsys):
    started = time.monotonic()
    hosts = site.hosts
    chains = {
        "postgresql": lambda: postgresql_chain(site, hosts["postgresql"]),
        "timescaledb": lambda: timescaledb_chain(site, hosts["timescaledb"]),
        "redis": lambda: redis_chain(site, hosts["redis"]),
        "influxdb": lambda: influxdb_chain(site, hosts["influxdb"], site.work / "tokens"),
    }

    def guarded(chain):
        try:
            return chain(), None
        except Exception:  # reported after every chain has finished
            return None, traceback.format_exc()

    with ThreadPoolExecutor(len(chains)) as pool:
        results = dict(zip(chains, pool.map(guarded, chains.values())))
    failures = [f"{group}:\n{error}" for group, (_value, error) in results.items() if error]
    assert not failures, "\n".join(failures)
    tokens = results["influxdb"][0]

    # The whole site, with a new memory budget: killed right after the PostgreSQL drop-in is
    # written, then every host restarts (a power cut at the plant) before the re-run.
    budget = {"postgresql_memory_mb": 1536}
    site.killed_run(None, KillPoint("host restart", PG_DROP_IN_TASK), extra=budget)
    restart_start = time.monotonic()
    with ThreadPoolExecutor(len(hosts)) as pool:
        list(pool.map(lambda host: host.container.restart(timeout=30), hosts.values()))
    for host in hosts.values():
        wait_for_boot(host)
    restarted = time.monotonic() - restart_start
    rerun = site.converged_run(None, "the host restart", extra=budget)
    site.record("all four", f"host restart mid-converge (docker restart, {restarted:.0f} s)", rerun, "converged")
    assert psql(hosts["postgresql"], "postgres", "SHOW shared_buffers") == "384MB"
    site.verified_and_idempotent(None, extra=budget)
    check_data(site, tokens)

    with capsys.disabled():
        print(f"\ncrash test: recovery after each kill point ({time.monotonic() - started:.0f} s in all)")
        print(f"{'host':<36} {'kill point':<70} {'re-run':>7}  ended")
        for host, point, ended, seconds in sorted(site.timings, key=lambda row: row[0] == "all four"):
            print(f"{host:<36} {point:<70} {seconds:>6.1f}s  {ended}")
