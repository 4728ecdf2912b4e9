# Copyright: mantis.datalayer contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the state of the data layer's backups as Prometheus metrics.

Run with python3 by the monitoring role's systemd timer; the node exporter's textfile
collector serves the file it writes (--output, replaced atomically). Sources:

- --pgbackrest: `pgbackrest --output=json info` (once per --stanza, or once for all
  stanzas), as the user that may read the repository. Per stanza: pgBackRest's status
  code, and per backup type (full, diff, incr) the count in the repositories and the
  stop time and duration of the newest.
- --redis-snapshot-dir: the redis role's snapshot directories, where its snapshot program
  keeps dump-<UTC time of the save>.rdb (beside a .rdb.json of key counts; temporary
  copies start with .dump-). Per directory: the count and the newest snapshot's time.

mantis_backup_metrics_up{source} is 0 when a source could not be read (pgBackRest failed
or printed no JSON list, a directory could not be listed); what was read is written all
the same. Exit status 0 when every source was read, else 1 with one line on stderr.
"""

from __future__ import annotations

import argparse
import calendar
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prometheus_textfile import Metric, Sample, one_line, render, write_and_report

PROGRAM = "mantis-backup-metrics"
BACKUP_TYPES = ("full", "diff", "incr")
PGBACKREST_TIMEOUT = 300
# As roles/redis/files/redis_snapshot.py names them.
SNAPSHOT_NAME = re.compile(r"^dump-(\d{8}T\d{6}Z)\.rdb$")

METRICS = [
    Metric("mantis_backup_metrics_up", "gauge", "1 when the backup source was read, 0 when reading it failed."),
    Metric("mantis_pgbackrest_up", "gauge", "1 when pgBackRest's status code for the stanza is 0 (ok)."),
    Metric(
        "mantis_pgbackrest_status_code",
        "gauge",
        "pgBackRest's status code for the stanza (0 ok, 1 missing stanza path, 2 no valid backups,"
        " 3 missing stanza data, 4 different across repos, 5 database mismatch, 99 other).",
    ),
    Metric(
        "mantis_pgbackrest_last_backup_timestamp_seconds",
        "gauge",
        "Stop time of the newest backup of this type; absent when there is none.",
    ),
    Metric(
        "mantis_pgbackrest_last_backup_duration_seconds",
        "gauge",
        "Stop minus start time of the newest backup of this type; absent when there is none.",
    ),
    Metric("mantis_pgbackrest_backups", "gauge", "Backups of this type in the stanza's repositories."),
    Metric(
        "mantis_redis_snapshot_last_success_timestamp_seconds",
        "gauge",
        "Time of the save the newest dump-<UTC>.rdb in the directory holds; absent when there is none.",
    ),
    Metric("mantis_redis_snapshots", "gauge", "dump-<UTC>.rdb snapshots in the directory."),
]


class SourceError(Exception):
    """A source could not be read; the message says which and why."""


def pgbackrest_info_command(config=None, stanza=None):
    command = ["pgbackrest"]
    if config:
        command.append("--config=%s" % config)
    if stanza:
        command.append("--stanza=%s" % stanza)
    return [*command, "--output=json", "info"]


def parse_pgbackrest_info(text):
    """The list of stanzas `pgbackrest --output=json info` printed."""
    try:
        stanzas = json.loads(text)
    except ValueError as error:
        raise SourceError("pgbackrest info printed no JSON: %s" % error) from error
    if not isinstance(stanzas, list):
        raise SourceError("pgbackrest info printed %s, not a list of stanzas" % type(stanzas).__name__)
    return stanzas


def run_pgbackrest_info(config=None, stanza=None):
    command = pgbackrest_info_command(config, stanza)
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=PGBACKREST_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SourceError("%s: %s" % (" ".join(command), error)) from error
    if proc.returncode != 0:
        raise SourceError(
            "%s exited with status %d: %s"
            % (" ".join(command), proc.returncode, (proc.stderr or proc.stdout).strip() or "no output")
        )
    return parse_pgbackrest_info(proc.stdout)


def stanza_samples(stanza):
    """The samples of one stanza of pgBackRest's info JSON."""
    labels = (("stanza", stanza["name"]),)
    code = stanza["status"]["code"]
    samples = [
        Sample("mantis_pgbackrest_up", labels, 1 if code == 0 else 0),
        Sample("mantis_pgbackrest_status_code", labels, code),
    ]
    for backup_type in BACKUP_TYPES:
        typed = (("stanza", stanza["name"]), ("type", backup_type))
        # Each repository's backups are listed (with its repo-key): counted over all repositories.
        backups = [backup for backup in stanza.get("backup", []) if backup["type"] == backup_type]
        if backups:
            newest = max(backups, key=lambda backup: backup["timestamp"]["stop"])
            samples.append(
                Sample("mantis_pgbackrest_last_backup_timestamp_seconds", typed, newest["timestamp"]["stop"])
            )
            samples.append(
                Sample(
                    "mantis_pgbackrest_last_backup_duration_seconds",
                    typed,
                    newest["timestamp"]["stop"] - newest["timestamp"]["start"],
                )
            )
        samples.append(Sample("mantis_pgbackrest_backups", typed, len(backups)))
    return samples


def pgbackrest_samples(stanzas):
    """The samples of every stanza in pgBackRest's info JSON."""
    try:
        return [sample for stanza in stanzas for sample in stanza_samples(stanza)]
    except (KeyError, TypeError) as error:
        raise SourceError("pgbackrest info JSON is not as expected (%s: %s)" % (type(error).__name__, error)) from error


def snapshot_time(name):
    """Seconds since the epoch of a dump-<UTC>.rdb name, or None for any other name."""
    match = SNAPSHOT_NAME.match(name)
    if match is None:
        return None
    return calendar.timegm(time.strptime(match.group(1), "%Y%m%dT%H%M%SZ"))


def snapshot_dir_samples(directory, names):
    labels = (("directory", directory),)
    times = [moment for moment in map(snapshot_time, names) if moment is not None]
    samples = []
    if times:
        samples.append(Sample("mantis_redis_snapshot_last_success_timestamp_seconds", labels, max(times)))
    samples.append(Sample("mantis_redis_snapshots", labels, len(times)))
    return samples


def list_snapshot_dir(directory):
    try:
        return os.listdir(directory)
    except OSError as error:
        raise SourceError("cannot list the Redis snapshot directory: %s" % error) from error


def read_sources(arguments, pgbackrest_info=run_pgbackrest_info, list_dir=list_snapshot_dir):
    """All samples, and the errors, one 'source: message' each."""
    samples, errors = [], []
    if arguments.pgbackrest:
        up = 1
        for stanza in arguments.stanza or [None]:
            try:
                samples += pgbackrest_samples(pgbackrest_info(arguments.pgbackrest_config, stanza))
            except SourceError as error:
                up = 0
                errors.append("pgbackrest: %s" % one_line(error))
        samples.append(Sample("mantis_backup_metrics_up", (("source", "pgbackrest"),), up))
    if arguments.redis_snapshot_dir:
        up = 1
        for directory in arguments.redis_snapshot_dir:
            try:
                samples += snapshot_dir_samples(directory, list_dir(directory))
            except SourceError as error:
                up = 0
                errors.append("redis_snapshot: %s" % one_line(error))
        samples.append(Sample("mantis_backup_metrics_up", (("source", "redis_snapshot"),), up))
    return samples, errors


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--output", required=True, help="the .prom file to write (in the textfile collector's dir)")
    parser.add_argument("--pgbackrest", action="store_true", help="read `pgbackrest --output=json info`")
    parser.add_argument("--pgbackrest-config", default=None, help="pgbackrest's --config (default: its own)")
    parser.add_argument("--stanza", action="append", default=None, help="a stanza to read (repeatable; default: all)")
    parser.add_argument(
        "--redis-snapshot-dir", action="append", default=None, help="a Redis snapshot directory (repeatable)"
    )
    arguments = parser.parse_args(argv)
    if not arguments.pgbackrest and not arguments.redis_snapshot_dir:
        parser.error("nothing to read: give --pgbackrest and/or --redis-snapshot-dir")
    if (arguments.stanza or arguments.pgbackrest_config) and not arguments.pgbackrest:
        parser.error("--stanza and --pgbackrest-config go with --pgbackrest")
    return arguments


def main(argv=None):
    arguments = parse_arguments(argv)
    samples, errors = read_sources(arguments)
    return write_and_report(PROGRAM, arguments.output, render(METRICS, samples), errors)


if __name__ == "__main__":
    sys.exit(main())
