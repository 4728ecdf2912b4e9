"""The redis role's snapshot program (roles/redis/files/redis_snapshot.py), without a server."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[3] / "roles" / "redis" / "files" / "redis_snapshot.py"
_spec = importlib.util.spec_from_file_location("redis_snapshot", PROGRAM)
snapshot = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(snapshot)


class FakeRedis:
    """A server's LASTSAVE, BGSAVE and INFO persistence. A save finishes after `save_polls` LASTSAVEs and
    ends as `outcome`: ok (LASTSAVE moves), err (it failed) or socket (a replica's transfer: ends with
    status ok, LASTSAVE unchanged). `start_delay` LASTSAVEs pass before a scheduled save starts."""

    def __init__(self, lastsave=1000, save_polls=2, outcome="ok", saving=False, start_delay=0):
        self.lastsave = lastsave
        self.save_polls = save_polls
        self.outcome = outcome
        self.saving = saving
        self.start_delay = start_delay
        self.status = "ok"
        self.commands = []

    def command(self, *words):
        self.commands.append(" ".join(words))
        if words[0] == "BGSAVE":
            if self.saving:
                raise snapshot.SnapshotError("BGSAVE SCHEDULE: ERR Background save already in progress")
            if self.start_delay:
                return "Background saving scheduled"
            self.saving = True
            return "Background saving started"
        if words[0] == "LASTSAVE":
            self.tick()
            return str(self.lastsave)
        if words[0] == "INFO":
            return (
                "# Persistence\r\nrdb_bgsave_in_progress:%d\r\nrdb_last_save_time:%d\r\nrdb_last_bgsave_status:%s\r\n"
                % (
                    self.saving,
                    self.lastsave,
                    self.status,
                )
            )
        raise AssertionError("unexpected command %r" % (words,))

    def tick(self):
        if self.start_delay:
            self.start_delay -= 1
            self.saving = self.start_delay == 0
        elif self.saving:
            self.save_polls -= 1
            if self.save_polls < 0:
                self.saving = False
                self.status = "err" if self.outcome == "err" else "ok"
                if self.outcome == "ok":
                    self.lastsave += 7
                self.outcome, self.save_polls = "ok", 2


class Clock:
    def __init__(self, start=2000.0):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_snapshots_are_named_by_the_utc_time_of_the_save():
    assert snapshot.snapshot_name(1764763200.9) == "dump-20251203T120000Z.rdb"


def test_only_the_newest_snapshots_are_kept_and_other_files_never_chosen():
    names = [
        "dump-20261203T120000Z.rdb",
        "dump-20261203T100000Z.rdb",
        "dump-20261203T110000Z.rdb",
        "dump-20261203T110000Z.rdb.json",
        "dump.rdb",
        "dump-manual.rdb",
        ".dump-20261203T130000Z.rdb.tmp",
    ]
    assert snapshot.snapshots_to_delete(names, 2) == ["dump-20261203T100000Z.rdb"]
    assert snapshot.snapshots_to_delete(names, 5) == []


def run(redis, timeout=60, start=2000.0):
    clock = Clock(start)
    return snapshot.take_save(redis, timeout=timeout, now=clock, clock=clock, sleep=clock.sleep), clock.now - start


def test_a_save_is_waited_for_until_lastsave_moves():
    redis = FakeRedis(save_polls=3)
    assert run(redis)[0] == 1007
    assert redis.commands[:2] == ["LASTSAVE", "BGSAVE SCHEDULE"]
    assert redis.commands[-1] == "INFO persistence"


def test_a_save_already_in_progress_is_waited_for():
    redis = FakeRedis(saving=True)
    assert run(redis)[0] == 1007
    assert redis.commands.count("BGSAVE SCHEDULE") == 1


def test_a_save_scheduled_behind_an_aof_rewrite_is_not_taken_for_a_failed_one():
    redis = FakeRedis(start_delay=3)
    assert run(redis)[0] == 1007


def test_a_replica_transfer_in_progress_is_followed_by_a_save_of_our_own():
    redis = FakeRedis(saving=True, outcome="socket")
    assert run(redis)[0] == 1007
    assert redis.commands.count("BGSAVE SCHEDULE") == 2


def test_a_failed_save_fails_at_once_not_after_the_timeout():
    redis = FakeRedis(outcome="err")
    with pytest.raises(snapshot.SnapshotError, match=r"background save failed.*rdb_last_bgsave_status:err"):
        run(redis, timeout=600)
    assert redis.commands.count("INFO persistence") <= 4


def test_a_save_in_the_second_of_the_previous_one_is_started_a_second_later():
    clock, redis = Clock(2000.4), FakeRedis(lastsave=2000)
    asked_at = []
    answer = redis.command
    redis.command = lambda *words: (asked_at.append(clock.now) if words[0] == "BGSAVE" else None) or answer(*words)
    snapshot.take_save(redis, timeout=60, now=clock, clock=clock, sleep=clock.sleep)
    assert asked_at[0] >= 2001


def test_a_save_that_does_not_finish_fails_after_the_timeout():
    with pytest.raises(snapshot.SnapshotError, match=r"did not finish within 30 s.*redis_snapshot_timeout"):
        run(FakeRedis(save_polls=10**6), timeout=30)


def test_other_bgsave_errors_are_not_taken_for_a_save_in_progress():
    redis = FakeRedis()

    def refuse(*words):
        if words[0] == "BGSAVE":
            raise snapshot.SnapshotError("BGSAVE SCHEDULE: MISCONF Errors writing to the AOF file")
        return FakeRedis.command(redis, *words)

    redis.command = refuse
    with pytest.raises(snapshot.SnapshotError, match="MISCONF"):
        run(redis)


@pytest.mark.parametrize(
    ("reply", "stderr", "returncode", "expected"),
    [
        ("1764763200", "", 0, None),
        ("NOPERM User mantis-snapshot has no permissions to run the 'get' command", "", 0, "+lastsave +bgsave +info"),
        ("NOAUTH Authentication required.", "AUTH failed: WRONGPASS invalid username-password pair", 0, "password"),
        ("", "Could not connect to Redis at 127.0.0.1:6380: Connection refused", 1, "cannot connect"),
        ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable", "", 0, "MISCONF"),
        ("", "something else", 1, "status 1"),
    ],
)
def test_reply_problems_say_what_failed(reply, stderr, returncode, expected):
    problem = snapshot.reply_problem(reply, stderr, returncode)
    assert problem is None if expected is None else expected in problem


CHECK_RDB_OUTPUT = """[offset 0] Checking RDB file dump.rdb
[offset 27] AUX FIELD redis-ver = '8.0.2'
[offset 183] Checksum OK
[offset 183] \\o/ RDB looks OK! \\o/
[info] 4 keys read
[info] 1 expires
[info] 0 already expired
[info] 0 subexpires
"""


def test_the_key_count_is_read_from_redis_check_rdb():
    assert snapshot.check_rdb_counts(CHECK_RDB_OUTPUT) == {"keys": 4, "expires": 1}
    with pytest.raises(snapshot.SnapshotError, match="did not report keys"):
        snapshot.check_rdb_counts("[offset 0] Checking RDB file dump.rdb\n")


def fake_program(path, script):
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def rdb_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    rdb = data / "dump.rdb"
    rdb.write_bytes(b"REDIS0011 snapshot bytes")
    os.utime(rdb, (1764763200, 1764763200))
    return rdb


def test_the_copy_is_named_by_its_save_checked_and_counted(tmp_path, rdb_file):
    backups = tmp_path / "backups"
    backups.mkdir()
    check = fake_program(tmp_path / "check", "cat <<'OUT'\n%sOUT\n" % CHECK_RDB_OUTPUT)
    name, size, counts = snapshot.copy_snapshot(str(rdb_file), str(backups), check)
    assert (name, size, counts) == ("dump-20251203T120000Z.rdb", 24, {"keys": 4, "expires": 1})
    assert (backups / name).read_bytes() == rdb_file.read_bytes()
    assert json.loads((backups / (name + ".json")).read_text()) == {
        "keys": 4,
        "expires": 1,
        "checked_by": "redis-check-rdb",
    }
    assert sorted(os.listdir(backups)) == [name, name + ".json"]


def test_a_damaged_copy_is_not_kept(tmp_path, rdb_file):
    backups = tmp_path / "backups"
    backups.mkdir()
    check = fake_program(
        tmp_path / "check",
        "printf '%s\\n' '--- RDB ERROR DETECTED ---' '[offset 40] Unexpected EOF reading RDB file' "
        "'[info] 0 keys read' '[info] 0 expires'; exit 1\n",
    )
    with pytest.raises(snapshot.SnapshotError, match=r"damaged.*Unexpected EOF reading RDB file$"):
        snapshot.copy_snapshot(str(rdb_file), str(backups), check)
    assert os.listdir(backups) == []


def test_a_missing_rdb_file_names_redis_data_dir(tmp_path):
    with pytest.raises(snapshot.SnapshotError, match="redis_data_dir"):
        snapshot.copy_snapshot(str(tmp_path / "nothing.rdb"), str(tmp_path), None)


def test_pruning_removes_old_snapshots_with_their_counts_and_nothing_else(tmp_path):
    for hour in range(10, 14):
        (tmp_path / ("dump-20261203T%02d0000Z.rdb" % hour)).write_text("x")
        (tmp_path / ("dump-20261203T%02d0000Z.rdb.json" % hour)).write_text("{}")
    (tmp_path / "operator-copy.rdb").write_text("x")
    assert snapshot.prune(str(tmp_path), 2) == ["dump-20261203T100000Z.rdb", "dump-20261203T110000Z.rdb"]
    assert sorted(os.listdir(tmp_path)) == [
        "dump-20261203T120000Z.rdb",
        "dump-20261203T120000Z.rdb.json",
        "dump-20261203T130000Z.rdb",
        "dump-20261203T130000Z.rdb.json",
        "operator-copy.rdb",
    ]


def test_a_whole_run_passes_the_password_only_in_the_environment(tmp_path, rdb_file, monkeypatch, capsys):
    """main() against a stand-in redis-cli that logs its arguments and environment."""
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / ".dump-20200101T000000Z.rdb.tmp").write_text("left by a killed run")
    for day in range(1, 4):
        (backups / ("dump-202001%02dT000000Z.rdb" % day)).write_text("old")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    state = tmp_path / "lastsave"
    state.write_text("1000")
    # LASTSAVE reads the state file; BGSAVE moves it on.
    fake_program(
        bin_dir / "redis-cli",
        'echo "$* | $REDISCLI_AUTH" >> %(log)s\n'
        "for word; do last=$word; done\n"
        'case "$last" in\n'
        "  LASTSAVE) cat %(state)s ;;\n"
        "  SCHEDULE) echo 2000 > %(state)s; echo 'Background saving started' ;;\n"
        "  persistence) printf 'rdb_last_bgsave_status:ok\\n' ;;\n"
        "esac\n" % {"log": tmp_path / "calls", "state": state},
    )
    monkeypatch.setenv("PATH", "%s:%s" % (bin_dir, os.environ["PATH"]))
    password = tmp_path / "password"
    password.write_text("s3cret-snapshot\n")
    status = snapshot.main(
        [
            "--user",
            "mantis-snapshot",
            "--password-file",
            str(password),
            "--rdb-file",
            str(rdb_file),
            "--snapshot-dir",
            str(backups),
            "--keep",
            "2",
            "--timeout",
            "10",
        ]
    )
    assert status == 0, capsys.readouterr().err
    calls = (tmp_path / "calls").read_text().splitlines()
    assert [call.split(" | ")[1] for call in calls] == ["s3cret-snapshot"] * len(calls)
    assert all("s3cret" not in call.split(" | ")[0] for call in calls)
    assert "s3cret" not in capsys.readouterr().out
    assert sorted(os.listdir(backups)) == ["dump-20200103T000000Z.rdb", "dump-20251203T120000Z.rdb"]


def test_a_run_that_cannot_read_its_password_fails_with_one_line(tmp_path, capsys):
    arguments = ["--user", "u", "--password-file", str(tmp_path / "none"), "--rdb-file", "x", "--snapshot-dir", "y"]
    status = snapshot.main([*arguments, "--keep", "1"])
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("mantis-redis-snapshot: cannot read the password file") and err.count("\n") == 1
