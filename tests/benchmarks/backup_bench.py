"""Backup and restore figures of the pgbackrest role, each against a baseline of the same run.

    make bench-backup   (or: python -m tests.benchmarks.backup_bench [--rows 1000000])

Two fresh systemd test containers of the project's Debian 13 image on a Docker network of
their own: a database host (groups postgresql and timescaledb, one cluster) and a backup host
(group backup) keeping the encrypted repository, reached through pgBackRest's TLS server, as
site.yml converges them. `--rows` synthetic sensor readings are loaded into sensor_data_raw.
Figures:

B1. full backup of the cluster by the role's backup service (pgBackRest: zstd, aes-256-cbc,
    sent to the backup host through TLS) vs. pg_basebackup of the same cluster to a tar on the
    database host (PostgreSQL's own tool, no compression): time and size;
B2. restore time (RTO): the data directory removed, playbooks/restore.yml to the end of the
    archive (the restore, WAL replay, the TimescaleDB and table checks, verify.yml), and the
    pgBackRest restore step alone, vs. extracting the pg_basebackup tar;
B3. data lost with the disk (RPO): rows committed every 100 ms for a while, then the server
    killed and its data directory removed at once; restored from the repository alone, the
    rows missing are counted and turned into seconds of writes, against the configured
    archive_timeout (set to 20 s here, so the figure takes seconds, not minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import yaml

from tests.benchmarks.site_bench import ansible_env, copy_ingest_rows_per_second, print_figures, timed_playbook
from tests.support.ansible_runner import write_inventory
from tests.support.containers import TestHost, docker_client, run_container, wait_for_boot

PREFIX = f"mantis-bbench-{os.getpid()}"
ARCHIVE_TIMEOUT = 20
DATA = "/var/lib/postgresql/17/main"
PSQL = "runuser -u postgres -- psql -X -qAt"


def seconds(host: TestHost, script: str) -> float:
    """Wall time of a shell script in the container, measured there."""
    out = host.sh(f"start=$(date +%s.%N); {script} >/dev/null; end=$(date +%s.%N); echo $start $end")
    start, end = (float(x) for x in out.split()[-2:])
    return end - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="sensor rows in the cluster")
    parser.add_argument("--rpo-seconds", type=int, default=45, help="how long rows are written before the disk is lost")
    parser.add_argument("--keep", action="store_true", help="leave the hosts running at the end (to look at them)")
    args = parser.parse_args()

    db_name, repo_name = f"{PREFIX}-db", f"{PREFIX}-repo"
    client = docker_client()
    network = client.networks.create(f"{PREFIX}-net", driver="bridge")
    created: list[TestHost] = []
    figures = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = Path(tmp)
            env = ansible_env(tmp_path / "facts")
            inventory = write_inventory(
                tmp_path / "inv", {"postgresql": [db_name], "timescaledb": [db_name], "backup": [repo_name]}
            )
            host_vars = {
                "pgbackrest_repo_cipher_pass": "mantis-backup-bench-passphrase-0123456789",
                "pgbackrest_tls_dir": str(tmp_path / "tls"),
                "pgbackrest_schedule": {"full": "Sun *-*-* 01:00:00", "diff": "", "incr": ""},
                "pgbackrest_archive_timeout": ARCHIVE_TIMEOUT,
            }
            (inventory / "host_vars").mkdir()
            for name in (db_name, repo_name):
                (inventory / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(host_vars))

            created += [run_container(n, publish=[], image="mantis-testhost:trixie") for n in (db_name, repo_name)]
            for host in created:
                network.connect(host.container, aliases=[host.name])
                wait_for_boot(host)
            db, repo = created
            timed_playbook(inventory, "tests/support/playbooks/test_hosts.yml", env)
            timed_playbook(inventory, "site.yml", env)

            copy_ingest_rows_per_second(db, args.rows, sessions=1, runs=1)
            cluster = int(db.sh(f"{PSQL} -c 'SELECT sum(pg_database_size(oid)) FROM pg_database'").split()[-1])
            db.sh(f"{PSQL} -c CHECKPOINT")
            stanza = db_name

            # B1. Full backup (the role's unit on the backup host) vs pg_basebackup to a tar.
            before = json.loads(repo.sh(f"runuser -u pgbackrest -- pgbackrest --stanza={stanza} --output=json info"))
            backup_time = seconds(repo, f"systemctl start pgbackrest-{stanza}-full.service")
            info = json.loads(repo.sh(f"runuser -u pgbackrest -- pgbackrest --stanza={stanza} --output=json info"))
            newest = info[0]["backup"][-1]
            if len(info[0]["backup"]) != len(before[0]["backup"]) + 1 or newest["type"] != "full":
                raise SystemExit(f"bench: the full backup service made no new full backup: {newest}")
            repo_size = newest["info"]["repository"]["delta"]
            base_time = seconds(db, "rm -rf /tmp/bb && runuser -u postgres -- pg_basebackup -D /tmp/bb -Ft -X fetch")
            base_size = int(db.sh("du -sb /tmp/bb | cut -f1").split()[-1])
            figures.append(
                (
                    f"B1 full backup, {args.rows:,} rows",
                    f"{backup_time:.1f} s, {repo_size / 1e6:.0f} MB vs pg_basebackup {base_time:.1f} s, "
                    f"{base_size / 1e6:.0f} MB (cluster {cluster / 1e6:.0f} MB)",
                    backup_time / base_time,
                    f"size {repo_size / base_size:.2f}x",
                )
            )

            # B2. RTO: the data directory lost, restore.yml to the end of the archive.
            db.sh(f"systemctl stop postgresql@17-main && rm -rf {DATA}")
            restore_all = timed_playbook(inventory, "playbooks/restore.yml", env, "-e", f"restore_host={db_name}")
            rows = int(db.sh(f"{PSQL} -d mantis_timeseries -c 'SELECT count(*) FROM sensor_data_raw'").split()[-1])
            if rows != args.rows:
                raise SystemExit(f"bench: {rows} rows after the restore, not {args.rows}")
            db.sh(f"systemctl stop postgresql@17-main && rm -rf {DATA}.before-restore-* && mv {DATA} /tmp/kept")
            db.sh(f"install -d -o postgres -g postgres -m 0700 {DATA}")
            restore_step = seconds(db, f"runuser -u postgres -- pgbackrest --stanza={stanza} restore")
            db.sh(f"rm -rf {DATA} && install -d -o postgres -g postgres -m 0700 {DATA}")
            untar = seconds(db, f"cd {DATA} && tar -xf /tmp/bb/base.tar")
            db.sh(f"rm -rf {DATA} && mv /tmp/kept {DATA} && systemctl start postgresql@17-main")
            figures.append(
                (
                    "B2 restore (RTO)",
                    f"restore.yml {restore_all:.1f} s; pgBackRest restore {restore_step:.1f} s vs untar {untar:.1f} s",
                    restore_step / untar,
                    "report",
                )
            )

            # B3. RPO: a row every 100 ms, then the disk lost without warning.
            # In a schema of its own: verify.yml counts the tables of the MANTIS schema.
            db.sh(
                f"{PSQL} -d mantis -c 'CREATE SCHEMA bench' "
                "-c 'CREATE TABLE bench.rpo_probe (id integer PRIMARY KEY, at timestamptz)'"
            )
            db.sh(f"runuser -u postgres -- pgbackrest --stanza={stanza} check")
            written = int(args.rpo_seconds * 10)
            db.sh(
                f'for i in $(seq 1 {written}); do echo "INSERT INTO bench.rpo_probe VALUES ($i, clock_timestamp());"; '
                "echo 'SELECT pg_sleep(0.1);'; done | runuser -u postgres -- psql -X -q -d mantis >/dev/null"
            )
            db.sh(f"pkill -9 -u postgres -f 'postgres -D|bin/postgres' || true; rm -rf {DATA}")
            db.sh("systemctl stop postgresql@17-main || true")
            timed_playbook(inventory, "playbooks/restore.yml", env, "-e", f"restore_host={db_name}")
            kept = int(db.sh(f"{PSQL} -d mantis -c 'SELECT count(*) FROM bench.rpo_probe'").split()[-1])
            lost = (written - kept) / 10
            figures.append(
                (
                    "B3 data lost with the disk (RPO)",
                    f"{written - kept} of {written} rows = {lost:.1f} s of writes, archive_timeout {ARCHIVE_TIMEOUT} s",
                    lost / ARCHIVE_TIMEOUT,
                    "<= 1x",
                )
            )
    finally:
        if not args.keep:
            for host in created:
                host.remove()
            network.remove()

    print_figures("MANTIS backup benchmark", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
