# Copyright: mantis.datalayer contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Take an RDB snapshot of the local Redis server and keep a copy of it.

Installed by the mantis.datalayer.redis role as /usr/local/lib/mantis-redis-snapshot.py and run
with python3 by its systemd timer. Steps: LASTSAVE, BGSAVE SCHEDULE (a save already in progress
is waited for), wait until LASTSAVE moves, check rdb_last_bgsave_status, copy the RDB file to
the snapshot directory as dump-<UTC time of that save>.rdb (temporary name, fsync, rename,
fsync of the directory), check the copy with redis-check-rdb and write what it counted beside
it (dump-<time>.rdb.json), then delete all but the newest --keep snapshots.

The password is read from --password-file and handed to redis-cli in REDISCLI_AUTH: never on
a command line, never printed. Exit status 0 on success, 1 with one line on stderr otherwise.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

SNAPSHOT_NAME = re.compile(r"^dump-(\d{8}T\d{6}Z)\.rdb$")
TEMPORARY_PREFIX = ".dump-"
COMPANION_SUFFIX = ".json"


class SnapshotError(Exception):
    """A step failed; the message says which and what to look at."""


class RedisCli:
    """Runs one command at a time with redis-cli, authenticated as the snapshot user."""

    def __init__(self, host, port, user, password, tls=False, cacert=None, program="redis-cli"):
        self.argv = [program, "-h", host, "-p", str(port), "--user", user, "--no-auth-warning"]
        if tls:
            self.argv += ["--tls"] + (["--cacert", cacert] if cacert else [])
        self.env = dict(os.environ, REDISCLI_AUTH=password)

    def command(self, *words):
        """The reply as text; an error reply raises SnapshotError naming the command."""
        try:
            proc = subprocess.run(
                self.argv + list(words), env=self.env, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SnapshotError("%s: redis-cli failed: %s" % (" ".join(words), error)) from error
        reply = proc.stdout.strip()
        problem = reply_problem(reply, proc.stderr.strip(), proc.returncode)
        if problem:
            raise SnapshotError("%s: %s" % (" ".join(words), problem))
        return reply


def reply_problem(reply, stderr, returncode):
    """Why a redis-cli call failed, or None. redis-cli prints error replies on stdout."""
    if stderr.startswith("Could not connect") or "Connection refused" in stderr:
        return "cannot connect to Redis (%s)" % stderr.splitlines()[0]
    if stderr.startswith("AUTH failed") or reply.startswith(("WRONGPASS", "NOAUTH")):
        return (
            "authentication as the snapshot user failed (%s): compare the password file with the ACL file"
            % (stderr or reply).splitlines()[0]
        )
    if reply.startswith("NOPERM"):
        return "refused by the ACL (%s): the snapshot user needs +lastsave +bgsave +info" % reply
    if reply.startswith(("ERR", "MISCONF", "LOADING", "BUSY")):
        return reply
    if returncode != 0:
        return "redis-cli exited with status %d: %s" % (returncode, (stderr or reply) or "no output")
    return None


def parse_info(text):
    """INFO's 'name:value' lines as a dict (section headers and blank lines skipped)."""
    fields = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and ":" in line:
            name, value = line.split(":", 1)
            fields[name] = value
    return fields


def snapshot_name(saved_at):
    """File name of a snapshot saved at `saved_at` (seconds since the epoch), in UTC."""
    moment = datetime.datetime.fromtimestamp(int(saved_at), tz=datetime.timezone.utc)
    return "dump-%s.rdb" % moment.strftime("%Y%m%dT%H%M%SZ")


def snapshots_to_delete(names, keep):
    """Snapshot files beyond the newest `keep`; names that are not snapshots are never chosen."""
    snapshots = sorted(name for name in names if SNAPSHOT_NAME.match(name))
    return snapshots[:-keep] if keep > 0 else snapshots


def check_rdb_counts(output):
    """Keys and keys with a TTL that redis-check-rdb counted, from its '[info] N ...' lines."""
    counts = {}
    for field, pattern in (("keys", r"^\[info\] (\d+) keys read$"), ("expires", r"^\[info\] (\d+) expires$")):
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise SnapshotError("redis-check-rdb did not report %s: %s" % (field, output.strip()[-300:]))
        counts[field] = int(match.group(1))
    return counts


def start_save(redis):
    """Ask for a background save; True when one runs now (ours or one already in progress)."""
    try:
        return redis.command("BGSAVE", "SCHEDULE") != "Background saving scheduled"
    except SnapshotError as error:
        if "already in progress" in str(error):
            return True
        raise


def wait_for_save(redis, before, timeout, running, clock=time.monotonic, sleep=time.sleep):
    """LASTSAVE once it has moved past `before`; SnapshotError after `timeout` seconds.

    Redis moves LASTSAVE only when a save to disk succeeds. A save that ends while LASTSAVE
    stays put either failed (rdb_last_bgsave_status:err, reported at once) or was not one to
    disk (a replica's transfer that was in progress, or one stopped by SIGUSR1): then another
    is asked for.
    """
    deadline = clock() + timeout
    while True:
        lastsave = int(redis.command("LASTSAVE"))
        if lastsave > before:
            return lastsave
        persistence = parse_info(redis.command("INFO", "persistence"))
        still_running = persistence.get("rdb_bgsave_in_progress") == "1"
        if running and not still_running and int(persistence.get("rdb_last_save_time", before)) <= before:
            if persistence.get("rdb_last_bgsave_status") != "ok":
                raise SnapshotError(
                    "the background save failed (rdb_last_bgsave_status:%s): see the Redis log "
                    "(disk full? directory not writable?)" % persistence.get("rdb_last_bgsave_status")
                )
            still_running = start_save(redis)
        running = still_running
        if clock() >= deadline:
            raise SnapshotError(
                "BGSAVE did not finish within %d s (LASTSAVE still %d): see the Redis log; "
                "a large dataset needs a longer redis_snapshot_timeout" % (timeout, lastsave)
            )
        sleep(1)


def take_save(redis, timeout, now=time.time, clock=time.monotonic, sleep=time.sleep):
    """Run a background save and return LASTSAVE after it."""
    before = int(redis.command("LASTSAVE"))
    # LASTSAVE counts whole seconds: a save finishing in the second of the previous one
    # would not move it. (A LASTSAVE further ahead is a clock step: not waited for.)
    wait = before + 1 - now()
    if 0 < wait <= 2:
        sleep(wait)
    running = start_save(redis)
    lastsave = wait_for_save(redis, before, timeout, running, clock, sleep)
    status = parse_info(redis.command("INFO", "persistence")).get("rdb_last_bgsave_status")
    if status != "ok":
        raise SnapshotError(
            "the background save failed (rdb_last_bgsave_status:%s): see the Redis log "
            "(disk full? directory not writable?)" % status
        )
    return lastsave


def fsync_directory(path):
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_atomically(path, content):
    temporary = os.path.join(os.path.dirname(path), TEMPORARY_PREFIX + os.path.basename(path) + ".tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())
    os.rename(temporary, path)


def run_check_rdb(program, path):
    try:
        proc = subprocess.run([program, path], capture_output=True, text=True, check=False)
    except OSError as error:
        raise SnapshotError("redis-check-rdb could not run: %s" % error) from error
    if proc.returncode != 0:
        # Its counters follow the error; the lines before them say what is wrong.
        report = [line for line in (proc.stdout + proc.stderr).splitlines() if not line.startswith("[info]")]
        raise SnapshotError("redis-check-rdb found the copy damaged (it was not kept): %s" % " ".join(report[-3:]))
    return check_rdb_counts(proc.stdout)


def copy_snapshot(rdb_file, snapshot_dir, check_rdb=None):
    """Copy the server's RDB file into `snapshot_dir`; returns (name, size, counts or None)."""
    try:
        source = open(rdb_file, "rb")
    except OSError as error:
        raise SnapshotError("cannot read the server's RDB file: %s (is redis_data_dir right?)" % error) from error
    with source:
        # Named by the time of the save that wrote this very file: a later save replaces the
        # file by a rename, and the copy reads the file it opened.
        name = snapshot_name(os.fstat(source.fileno()).st_mtime)
        final = os.path.join(snapshot_dir, name)
        temporary = os.path.join(snapshot_dir, TEMPORARY_PREFIX + name + ".tmp")
        try:
            with open(temporary, "wb") as target:
                shutil.copyfileobj(source, target, 1024 * 1024)
                target.flush()
                os.fsync(target.fileno())
            counts = run_check_rdb(check_rdb, temporary) if check_rdb else None
            os.rename(temporary, final)
        except BaseException:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise
    if counts is not None:
        write_atomically(final + COMPANION_SUFFIX, json.dumps(dict(counts, checked_by="redis-check-rdb")) + "\n")
    fsync_directory(snapshot_dir)
    return name, os.path.getsize(final), counts


def remove_leftovers(snapshot_dir):
    """Temporary files of a run that was killed."""
    for name in os.listdir(snapshot_dir):
        if name.startswith(TEMPORARY_PREFIX) and name.endswith(".tmp"):
            os.unlink(os.path.join(snapshot_dir, name))


def prune(snapshot_dir, keep):
    removed = snapshots_to_delete(os.listdir(snapshot_dir), keep)
    for name in removed:
        os.unlink(os.path.join(snapshot_dir, name))
        companion = os.path.join(snapshot_dir, name + COMPANION_SUFFIX)
        if os.path.exists(companion):
            os.unlink(companion)
    if removed:
        fsync_directory(snapshot_dir)
    return removed


def read_password(path):
    try:
        with open(path, encoding="utf-8") as handle:
            password = handle.read().rstrip("\n")
    except OSError as error:
        raise SnapshotError("cannot read the password file: %s" % error) from error
    if not password:
        raise SnapshotError("the password file %s is empty" % path)
    return password


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6380)
    parser.add_argument("--tls", action="store_true", help="connect with TLS")
    parser.add_argument("--cacert", help="CA certificate for --tls")
    parser.add_argument("--user", required=True, help="ACL user allowed LASTSAVE, BGSAVE and INFO")
    parser.add_argument("--password-file", required=True, help="file holding that user's password")
    parser.add_argument("--rdb-file", required=True, help="the server's dir/dbfilename")
    parser.add_argument("--snapshot-dir", required=True)
    parser.add_argument("--keep", type=int, required=True, help="snapshots kept, newest first")
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for the save")
    parser.add_argument("--check-rdb", default="", help="redis-check-rdb program; empty: no check, no key count")
    return parser.parse_args(argv)


def main(argv=None):
    arguments = parse_arguments(argv)
    try:
        if arguments.keep < 1:
            raise SnapshotError("--keep must be at least 1")
        redis = RedisCli(
            arguments.host,
            arguments.port,
            arguments.user,
            read_password(arguments.password_file),
            arguments.tls,
            arguments.cacert,
        )
        remove_leftovers(arguments.snapshot_dir)
        lastsave = take_save(redis, arguments.timeout)
        name, size, counts = copy_snapshot(arguments.rdb_file, arguments.snapshot_dir, arguments.check_rdb)
        removed = prune(arguments.snapshot_dir, arguments.keep)
    except (SnapshotError, OSError) as error:
        print("mantis-redis-snapshot: %s" % error, file=sys.stderr)
        return 1
    print(
        "snapshot %s: %d bytes%s, LASTSAVE %d; removed %s"
        % (
            name,
            size,
            ", %(keys)d keys (%(expires)d with a TTL)" % counts if counts else "",
            lastsave,
            ", ".join(removed) or "nothing",
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
