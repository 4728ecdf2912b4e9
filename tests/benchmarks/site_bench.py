"""The site's five speed figures, each against a baseline measured in the same run.

    make bench        (or: python -m tests.benchmarks.site_bench)

All hosts are fresh systemd test containers of the project's Debian 13 image, created
for this run and removed at its end. Figures:

1. cold converge of site.yml on four hosts (one per database) vs. a bare install of the
   same packages plus the same SQL (the metadata migrations; the six hypertables) on three
   other fresh hosts (InfluxDB 2 has no package here), run in parallel like Ansible runs
   its hosts;                                                            target <= 1.3x
2. no-op converge of site.yml on the four converged hosts;             target <= 20 s
   (figures 1 and 2 without the monitoring play; figure 6 is its no-op cost)
3. COPY ingest of synthetic sensor rows into sensor_data_raw on the provisioned
   TimescaleDB vs. the bare install's untuned server, by one psql session (3) and by one
   session per CPU at once, like a parallel loader (3b);                target >= 1.5x
4. Redis GET p99 on port 6380 of the provisioned host (redis-benchmark), beside the bare
   install's default Redis;                                              target < 1 ms
5. eight hosts converged in parallel vs. one, with playbooks/redis.yml on fresh hosts
   (a factory site's feature store), since eight full data layers do not fit a 2-core
   machine;                                                              target <= 2x
   5b: the CPU time one host's converge costs (controller and host), and the least time
   eight of them can take on this machine's CPUs (a floor no scheduling can beat).
6. no-op converge of site.yml with its monitoring play on the four site hosts vs. figure 2
   (the exporters' and metrics timers' cost on every run).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from tests.benchmarks.redis_latency import benchmark as redis_benchmark
from tests.support.ansible_runner import ANSIBLE_PLAYBOOK, COLLECTIONS_DIR, LOCAL_GROUP_VARS, REPO_ROOT, write_inventory
from tests.support.containers import TestHost, run_container, wait_for_boot

PREFIX = f"mantis-bench-{os.getpid()}"
TIMESCALE_DEFAULTS = REPO_ROOT / "roles" / "timescaledb" / "defaults" / "main.yml"
MIGRATIONS = REPO_ROOT / "roles" / "postgresql" / "files" / "migrations"
PSQL = "runuser -u postgres -- psql -X -d mantis_timeseries"
GROUPS = ("postgresql", "timescaledb", "influxdb", "redis")
BARE_PACKAGES = {
    "postgresql": "postgresql-17 postgresql-17-postgis-3 python3-psycopg2",
    "timescaledb": "postgresql-17 postgresql-17-timescaledb python3-psycopg2",
    "redis": "redis-server redis-tools",
}


def ansible_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("ANSIBLE_HOME", str(COLLECTIONS_DIR.parent))
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    # Facts of this run only: the bench's hosts are new even when their names are not.
    env["ANSIBLE_CACHE_PLUGIN_CONNECTION"] = str(cache_dir)
    return env


# The figures are the data layer's, as measured before the monitoring play existed.
NO_MONITORING = ("-e", "site_monitoring=false")


def timed_playbook(inventory: Path, playbook: str, env: dict[str, str], *extra: str) -> float:
    start = time.monotonic()
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), playbook, *extra],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:] + proc.stderr[-3000:])
        raise SystemExit(f"bench: {playbook} failed on {inventory}")
    return elapsed


def start_hosts(names: list[str]) -> list[TestHost]:
    """Start all hosts first, then wait for each to boot: the boots overlap."""
    hosts = [run_container(name, publish=[], image="mantis-testhost:trixie") for name in names]
    for host in hosts:
        wait_for_boot(host)
    return hosts


def hypertable_sql() -> str:
    """The six hypertables of the role's defaults as plain SQL (what a hand install runs)."""
    defaults = yaml.safe_load(TIMESCALE_DEFAULTS.read_text())
    statements = []
    for table in defaults["timescaledb_hypertables"]:
        statements.append(f"CREATE TABLE IF NOT EXISTS {table['name']} ({', '.join(table['columns'])});")
        statements.append(
            f"SELECT create_hypertable('{table['name']}', '{table['time_column']}', if_not_exists => true);"
        )
    return "\n".join(statements)


def bare_install(host: TestHost, role: str) -> None:
    """What a plant engineer would type by hand: apt-get install, then the same SQL."""
    host.sh(f"apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {BARE_PACKAGES[role]}")
    if role == "postgresql":
        host.container.put_archive("/tmp", _tar_dir(MIGRATIONS, "migrations"))
        host.sh(
            "runuser -u postgres -- createuser mantis && runuser -u postgres -- createdb -O mantis mantis && "
            "for f in $(ls /tmp/migrations/*.sql | sort); do "
            "runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d mantis -f $f; done"
        )
    elif role == "timescaledb":
        sql = hypertable_sql().replace("'", "'\\''")
        host.sh(
            "echo \"shared_preload_libraries = 'timescaledb'\" >> /etc/postgresql/17/main/conf.d/timescaledb.conf && "
            "systemctl restart postgresql@17-main && runuser -u postgres -- createdb mantis_timeseries && "
            "runuser -u postgres -- psql -X -q -d mantis_timeseries -c 'CREATE EXTENSION timescaledb' && "
            f"runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d mantis_timeseries -c '{sql}'"
        )


def _tar_dir(directory: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(directory, arcname=name)
    return buffer.getvalue()


def write_readings(host: TestHost, rows: int, sessions: int) -> None:
    """`rows` synthetic sensor readings as CSV, split into one file per ingest session."""
    host.sh(
        "python3 - <<'EOF'\n"
        "import random, uuid, datetime\n"
        "assets = [str(uuid.uuid4()) for _ in range(50)]\n"
        "sensors = [(a, str(uuid.uuid4())) for a in assets for _ in range(4)]\n"
        "start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)\n"
        "with open('/tmp/readings.csv', 'w') as out:\n"
        f"    for i in range({rows}):\n"
        "        asset, sensor = sensors[i % len(sensors)]\n"
        "        t = start + datetime.timedelta(milliseconds=100 * i)\n"
        "        out.write(f'{t.isoformat()},{asset},{sensor},vibration,{random.random():.5f},192,ok\\n')\n"
        "EOF\n"
        f"cd /tmp && rm -f readings.part.* && split -n l/{sessions} readings.csv readings.part. && "
        "chmod 0644 readings.csv readings.part.*"
    )


def copy_ingest_rows_per_second(host: TestHost, rows: int, sessions: int = 1, runs: int = 2) -> float:
    """Best of `runs` loads of `rows` synthetic readings into sensor_data_raw, by `sessions`
    concurrent psql \\copy sessions (one for a single writer; several like a parallel loader)."""
    write_readings(host, rows, sessions)
    copy = (
        f"{PSQL} -q -c "
        '"\\copy sensor_data_raw (time, asset_id, sensor_id, sensor_type, value, quality, status) '
        "FROM '$part' CSV\""
    )
    best = 0.0
    for _run in range(runs):
        host.sh(f"{PSQL} -q -c 'TRUNCATE sensor_data_raw' -c CHECKPOINT")
        output = host.sh(
            f"start=$(date +%s.%N); for part in /tmp/readings.part.*; do {copy} & done; wait; "
            'end=$(date +%s.%N); echo "$start $end"'
        )
        loaded = host.sh(f"{PSQL} -qAt -c 'SELECT count(*) FROM sensor_data_raw'")
        if int(loaded.split()[-1]) != rows:
            raise SystemExit(f"bench: {host.name} loaded {loaded.strip()} rows, not {rows}")
        start, end = (float(x) for x in output.split()[-2:])
        best = max(best, rows / (end - start))
    return best


CGROUP_CPU_FILES = (
    "/sys/fs/cgroup/cpuacct/docker/{id}/cpuacct.usage",  # cgroup v1: nanoseconds
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/cpu.stat",  # cgroup v2 (systemd driver)
    "/sys/fs/cgroup/docker/{id}/cpu.stat",  # cgroup v2 (cgroupfs driver)
)


def cpu_seconds(host: TestHost) -> float:
    """CPU time used so far by everything in the host's container (its cgroup's accounting)."""
    for pattern in CGROUP_CPU_FILES:
        path = Path(pattern.format(id=host.container.id))
        if path.exists():
            text = path.read_text()
            if path.name == "cpuacct.usage":
                return int(text) / 1e9
            return int(dict(line.split() for line in text.splitlines())["usage_usec"]) / 1e6
    stats = host.container.stats(stream=False)
    return stats["cpu_stats"]["cpu_usage"]["total_usage"] / 1e9


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per COPY")
    args = parser.parse_args()

    site_names = {group: f"{PREFIX}-{group}" for group in GROUPS}
    bare_names = {role: f"{PREFIX}-bare-{role}" for role in BARE_PACKAGES}
    scale_names = [f"{PREFIX}-site{i}" for i in range(9)]
    created: list[TestHost] = []
    figures = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            env = ansible_env(tmp_path / "facts")
            site_inventory = write_inventory(tmp_path / "site", {g: [n] for g, n in site_names.items()})
            prepare = "tests/support/playbooks/test_hosts.yml"

            created += start_hosts(list(site_names.values()) + list(bare_names.values()))
            hosts = {host.name: host for host in created}
            timed_playbook(site_inventory, prepare, env)
            hosts[bare_names["redis"]].sh(
                "mkdir -p /etc/systemd/system/redis-server.service.d && printf '[Service]\\nPrivateUsers=false\\n' "
                "> /etc/systemd/system/redis-server.service.d/10-container.conf"
            )

            # 1. Cold converge vs. bare install, four hosts each, hosts in parallel. The baseline installs the
            # databases, so the site runs without its monitoring play (the exporters are not in the baseline).
            cold = timed_playbook(site_inventory, "site.yml", env, *NO_MONITORING)
            start = time.monotonic()
            with ThreadPoolExecutor(len(bare_names)) as pool:
                list(pool.map(lambda item: bare_install(hosts[item[1]], item[0]), bare_names.items()))
            bare = time.monotonic() - start
            figures.append(("1 cold converge, 4 hosts", f"{cold:.0f} s vs bare {bare:.0f} s", cold / bare, "<= 1.3x"))

            # 2. No-op converge.
            noop = timed_playbook(site_inventory, "site.yml", env, *NO_MONITORING)
            figures.append(("2 no-op converge, 4 hosts", f"{noop:.1f} s", None, "<= 20 s"))

            # 3. COPY ingest, provisioned vs. untuned: one writer, then one writer per CPU.
            for sessions, label in ((1, "3 COPY rows/s, 1 session"), (os.cpu_count() or 2, "3b COPY rows/s, parallel")):
                tuned = copy_ingest_rows_per_second(hosts[site_names["timescaledb"]], args.rows, sessions)
                untuned = copy_ingest_rows_per_second(hosts[bare_names["timescaledb"]], args.rows, sessions)
                figures.append(
                    (f"{label}", f"{tuned:,.0f} vs untuned {untuned:,.0f} ({sessions} x)", tuned / untuned, ">= 1.5x")
                )

            # 4. Redis GET p99.
            auth = ["--user", "mantis-admin", "-a", _local_var("all", "demo_redis_admin_password")]
            provisioned = redis_benchmark(hosts[site_names["redis"]], 6380, 100000, 10, auth)
            default = redis_benchmark(hosts[bare_names["redis"]], 6379, 100000, 10, [])
            p99 = provisioned["GET"]["p99_latency_ms"]
            base_p99 = default["GET"]["p99_latency_ms"]
            figures.append(("4 Redis GET p99", f"{p99:.3f} ms vs default {base_p99:.3f} ms", p99 / base_p99, "< 1 ms"))

            # 5. Eight hosts in parallel vs. one (redis play, fresh hosts).
            created += start_hosts(scale_names)
            one = write_inventory(tmp_path / "one", {"redis": scale_names[:1]})
            eight = write_inventory(tmp_path / "eight", {"redis": scale_names[1:]})
            timed_playbook(one, prepare, env)
            timed_playbook(eight, prepare, env)
            controller_before, host_before = os.times(), cpu_seconds(created[-len(scale_names)])
            single = timed_playbook(one, "playbooks/redis.yml", env)
            controller_after, host_after = os.times(), cpu_seconds(created[-len(scale_names)])
            parallel = timed_playbook(eight, "playbooks/redis.yml", env)
            figures.append(
                ("5 eight hosts vs one (redis)", f"{parallel:.0f} s vs {single:.0f} s", parallel / single, "<= 2x")
            )
            # What one host's converge costs in CPU (ansible-playbook and its workers, plus
            # the host's own processes), and the least time eight such converges can take on
            # this machine's CPUs, however well they overlap.
            controller = sum(controller_after[i] - controller_before[i] for i in (2, 3))
            per_host = controller + host_after - host_before
            floor = max(single, 8 * per_host / (os.cpu_count() or 1))
            figures.append(
                (
                    "5b CPU floor for eight",
                    f"{per_host:.1f} CPU-s/host ({controller:.1f} controller): {floor:.0f} s",
                    floor / single,
                    f"on {os.cpu_count()} CPUs",
                )
            )

            # 6. The monitoring play (exporters, TimescaleDB and backup metrics timers) on the four site
            # hosts: one converge with it installs the exporters, then its no-op against figure 2's.
            timed_playbook(site_inventory, "site.yml", env)
            monitored = timed_playbook(site_inventory, "site.yml", env)
            figures.append(
                ("6 no-op converge with monitoring", f"{monitored:.1f} s vs {noop:.1f} s", monitored / noop, "report")
            )
    finally:
        for host in created:
            host.remove()

    print_figures("MANTIS site benchmark", figures)
    return 0


def print_figures(title: str, figures: list[tuple[str, str, float | None, str]]) -> None:
    """One line per figure: name, what was measured, the ratio to its baseline, the target."""
    name_width = max([6] + [len(f[0]) for f in figures])
    measured_width = max([8] + [len(f[1]) for f in figures])
    print(f"{title} (fresh Debian 13 systemd test hosts, this machine)")
    print(f"{'figure':<{name_width}} {'measured':<{measured_width}} {'ratio':>7}  target")
    for name, measured, ratio, target in figures:
        ratio_text = "" if ratio is None else f"{ratio:.2f}x"
        print(f"{name:<{name_width}} {measured:<{measured_width}} {ratio_text:>7}  {target}")


def _local_var(group: str, name: str) -> str:
    return str(yaml.safe_load((LOCAL_GROUP_VARS / f"{group}.yml").read_text())[name])


if __name__ == "__main__":
    sys.exit(main())
