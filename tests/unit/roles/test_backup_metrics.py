"""The monitoring role's backup collector (roles/monitoring/files/backup_metrics.py), without pgBackRest or Redis.

data/pgbackrest_info_multi_repo.json is the output pgBackRest 2.55.1's own unit test
expects from `pgbackrest --output=json info` with two repositories
(test/src/module/command/infoTest.c, "mixed multi-repo, percent complete non-null"):
stanza1 ok with full, diff and incr backups in both repositories, stanza2 with no backups
(status 4, "different across repos": 2 "no valid backups" on repo1, 1 "missing stanza
path" on repo2) and stanza3 with one full backup on repo2 (status 4).
"""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from argparse import Namespace
from pathlib import Path

import pytest

PROGRAM = Path(__file__).resolve().parents[3] / "roles" / "monitoring" / "files" / "backup_metrics.py"
_spec = importlib.util.spec_from_file_location("backup_metrics", PROGRAM)
backup = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(backup)

MULTI_REPO = json.loads((Path(__file__).parent / "data" / "pgbackrest_info_multi_repo.json").read_text())
# infoTest.c, "repo is still empty but stanza option is specified".
MISSING_STANZA = [
    {
        "archive": [],
        "backup": [],
        "cipher": "none",
        "db": [],
        "name": "stanza1",
        "repo": [{"cipher": "none", "key": 1, "status": {"code": 1, "message": "missing stanza path"}}],
        "status": {"code": 1, "lock": {"backup": {"held": False}}, "message": "missing stanza path"},
    }
]


def sample_lines(text):
    return [line for line in text.splitlines() if not line.startswith("#")]


def arguments(**options):
    defaults = {"pgbackrest": False, "pgbackrest_config": None, "stanza": None, "redis_snapshot_dir": None}
    return Namespace(**dict(defaults, **options))


def test_every_stanza_gives_its_status_and_per_type_count_newest_stop_and_duration():
    text = backup.render(backup.METRICS, backup.pgbackrest_samples(MULTI_REPO))
    assert sample_lines(text) == [
        'mantis_pgbackrest_up{stanza="stanza1"} 1',
        'mantis_pgbackrest_up{stanza="stanza2"} 0',
        'mantis_pgbackrest_up{stanza="stanza3"} 0',
        'mantis_pgbackrest_status_code{stanza="stanza1"} 0',
        'mantis_pgbackrest_status_code{stanza="stanza2"} 4',
        'mantis_pgbackrest_status_code{stanza="stanza3"} 4',
        # The newest full backup is 20201116-200000F on repo2.
        'mantis_pgbackrest_last_backup_timestamp_seconds{stanza="stanza1",type="full"} 1605556805',
        'mantis_pgbackrest_last_backup_timestamp_seconds{stanza="stanza1",type="diff"} 1542640915',
        'mantis_pgbackrest_last_backup_timestamp_seconds{stanza="stanza1",type="incr"} 1605799263',
        'mantis_pgbackrest_last_backup_timestamp_seconds{stanza="stanza3",type="full"} 1605002402',
        'mantis_pgbackrest_last_backup_duration_seconds{stanza="stanza1",type="full"} 5',
        'mantis_pgbackrest_last_backup_duration_seconds{stanza="stanza1",type="diff"} 3',
        'mantis_pgbackrest_last_backup_duration_seconds{stanza="stanza1",type="incr"} 3',
        'mantis_pgbackrest_last_backup_duration_seconds{stanza="stanza3",type="full"} 2',
        'mantis_pgbackrest_backups{stanza="stanza1",type="full"} 3',
        'mantis_pgbackrest_backups{stanza="stanza1",type="diff"} 1',
        'mantis_pgbackrest_backups{stanza="stanza1",type="incr"} 2',
        'mantis_pgbackrest_backups{stanza="stanza2",type="full"} 0',
        'mantis_pgbackrest_backups{stanza="stanza2",type="diff"} 0',
        'mantis_pgbackrest_backups{stanza="stanza2",type="incr"} 0',
        'mantis_pgbackrest_backups{stanza="stanza3",type="full"} 1',
        'mantis_pgbackrest_backups{stanza="stanza3",type="diff"} 0',
        'mantis_pgbackrest_backups{stanza="stanza3",type="incr"} 0',
    ]


def test_the_newest_backup_is_the_one_that_stopped_last_wherever_it_is_listed():
    # Backups are listed repository by repository: a newer one can come before an older one.
    stanza1 = dict(MULTI_REPO[0], backup=list(reversed(MULTI_REPO[0]["backup"])))
    assert backup.pgbackrest_samples([stanza1]) == backup.pgbackrest_samples(MULTI_REPO[:1])


def test_a_stanza_in_error_is_down_with_its_code_and_no_backups():
    assert sample_lines(backup.render(backup.METRICS, backup.pgbackrest_samples(MISSING_STANZA))) == [
        'mantis_pgbackrest_up{stanza="stanza1"} 0',
        'mantis_pgbackrest_status_code{stanza="stanza1"} 1',
        'mantis_pgbackrest_backups{stanza="stanza1",type="full"} 0',
        'mantis_pgbackrest_backups{stanza="stanza1",type="diff"} 0',
        'mantis_pgbackrest_backups{stanza="stanza1",type="incr"} 0',
    ]


def test_json_that_is_not_pgbackrests_is_a_source_error():
    with pytest.raises(backup.SourceError, match="printed no JSON"):
        backup.parse_pgbackrest_info("ERROR: [031]: invalid option\n")
    with pytest.raises(backup.SourceError, match="printed dict, not a list of stanzas"):
        backup.parse_pgbackrest_info('{"name": "x"}')
    with pytest.raises(backup.SourceError, match=r"not as expected \(KeyError: 'status'\)"):
        backup.pgbackrest_samples([{"name": "x", "backup": []}])


def test_the_command_asks_for_json_with_the_config_and_stanza_given():
    assert backup.pgbackrest_info_command() == ["pgbackrest", "--output=json", "info"]
    assert backup.pgbackrest_info_command("/etc/pgbackrest/other.conf", "main") == [
        "pgbackrest",
        "--config=/etc/pgbackrest/other.conf",
        "--stanza=main",
        "--output=json",
        "info",
    ]


def fake_pgbackrest(directory, script, monkeypatch):
    program = directory / "pgbackrest"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "%s:%s" % (directory, os.environ["PATH"]))


def test_pgbackrest_is_run_and_its_json_read(tmp_path, monkeypatch):
    (tmp_path / "info.json").write_text(json.dumps(MISSING_STANZA))
    fake_pgbackrest(tmp_path, 'echo "$@" > %s/argv; cat %s/info.json\n' % (tmp_path, tmp_path), monkeypatch)
    assert backup.run_pgbackrest_info(None, "stanza1") == MISSING_STANZA
    assert (tmp_path / "argv").read_text() == "--stanza=stanza1 --output=json info\n"


def test_a_failing_pgbackrest_is_reported_with_its_status_and_message(tmp_path, monkeypatch):
    fake_pgbackrest(
        tmp_path,
        "echo 'ERROR: [055]: unable to load info file' >&2\necho '  HINT: is the stanza created?' >&2\nexit 55\n",
        monkeypatch,
    )
    with pytest.raises(backup.SourceError) as failure:
        backup.run_pgbackrest_info()
    assert backup.one_line(failure.value) == (
        "pgbackrest --output=json info exited with status 55: ERROR: [055]: unable to load info file"
        " HINT: is the stanza created?"
    )


def test_a_missing_pgbackrest_is_a_source_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(backup.SourceError, match="No such file or directory"):
        backup.run_pgbackrest_info()


def test_each_stanza_asked_for_is_read_and_one_that_fails_sets_the_source_down():
    def pgbackrest_info(config, stanza):
        if stanza == "broken":
            raise backup.SourceError("pgbackrest --stanza=broken --output=json info exited with status 55: ERROR")
        return [dict(MISSING_STANZA[0], name=stanza)]

    samples, errors = backup.read_sources(
        arguments(pgbackrest=True, stanza=["main", "broken", "spare"]), pgbackrest_info=pgbackrest_info
    )
    text = backup.render(backup.METRICS, samples)
    assert 'mantis_backup_metrics_up{source="pgbackrest"} 0' in sample_lines(text)
    assert [line for line in sample_lines(text) if line.startswith("mantis_pgbackrest_up")] == [
        'mantis_pgbackrest_up{stanza="main"} 0',
        'mantis_pgbackrest_up{stanza="spare"} 0',
    ]
    assert errors == ["pgbackrest: pgbackrest --stanza=broken --output=json info exited with status 55: ERROR"]


SNAPSHOT_DIR_NAMES = [
    "dump-20261202T020000Z.rdb",
    "dump-20261202T020000Z.rdb.json",
    "dump-20261203T020000Z.rdb",
    "dump-20261203T020000Z.rdb.json",
    # A copy still being written (or left by a killed run), and an operator's file.
    ".dump-20261204T020000Z.rdb.tmp",
    ".dump-20261203T020000Z.rdb.json.tmp",
    "dump.rdb",
    "dump-2026-12-05.rdb",
]


def test_redis_snapshots_are_counted_and_the_newest_dated_by_its_name():
    text = backup.render(backup.METRICS, backup.snapshot_dir_samples("/var/backups/redis", SNAPSHOT_DIR_NAMES))
    assert sample_lines(text) == [
        # 2026-12-03T02:00:00Z
        'mantis_redis_snapshot_last_success_timestamp_seconds{directory="/var/backups/redis"} 1796263200',
        'mantis_redis_snapshots{directory="/var/backups/redis"} 2',
    ]


def test_a_snapshot_dir_with_only_temporary_files_has_no_snapshot_and_no_time():
    names = [".dump-20261204T020000Z.rdb.tmp", ".dump-20261204T020000Z.rdb.json.tmp"]
    assert sample_lines(backup.render(backup.METRICS, backup.snapshot_dir_samples("/srv/redis-snapshots", names))) == [
        'mantis_redis_snapshots{directory="/srv/redis-snapshots"} 0'
    ]


def test_a_directory_with_quotes_in_its_name_is_escaped():
    samples = backup.snapshot_dir_samples('/srv/"odd"\\dir', [])
    assert sample_lines(backup.render(backup.METRICS, samples)) == [
        'mantis_redis_snapshots{directory="/srv/\\"odd\\"\\\\dir"} 0'
    ]


def test_a_whole_run_writes_both_sources(tmp_path, monkeypatch, capsys):
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for name in SNAPSHOT_DIR_NAMES:
        (snapshots / name).write_text("x")
    (tmp_path / "info.json").write_text(json.dumps(MULTI_REPO))
    fake_pgbackrest(tmp_path, "cat %s/info.json\n" % tmp_path, monkeypatch)
    output = tmp_path / "mantis_backup.prom"
    status = backup.main(["--output", str(output), "--pgbackrest", "--redis-snapshot-dir", str(snapshots)])
    assert status == 0
    text = output.read_text()
    assert stat.S_IMODE(output.stat().st_mode) == 0o644
    assert sample_lines(text)[:2] == [
        'mantis_backup_metrics_up{source="pgbackrest"} 1',
        'mantis_backup_metrics_up{source="redis_snapshot"} 1',
    ]
    assert "# TYPE mantis_pgbackrest_backups gauge" in text.splitlines()
    assert 'mantis_redis_snapshots{directory="%s"} 2' % snapshots in text.splitlines()
    assert sorted(os.listdir(tmp_path)) == ["info.json", "mantis_backup.prom", "pgbackrest", "snapshots"]
    assert capsys.readouterr().err == ""


def test_a_source_that_fails_is_down_the_other_written_and_the_status_1(tmp_path, monkeypatch, capsys):
    fake_pgbackrest(
        tmp_path, "echo 'ERROR: [041]: unable to open /etc/pgbackrest/pgbackrest.conf' >&2\nexit 41\n", monkeypatch
    )
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    output = tmp_path / "mantis_backup.prom"
    status = backup.main(
        [
            "--output",
            str(output),
            "--pgbackrest",
            "--redis-snapshot-dir",
            str(snapshots),
            "--redis-snapshot-dir",
            str(tmp_path / "gone"),
        ]
    )
    assert status == 1
    assert sample_lines(output.read_text()) == [
        'mantis_backup_metrics_up{source="pgbackrest"} 0',
        'mantis_backup_metrics_up{source="redis_snapshot"} 0',
        'mantis_redis_snapshots{directory="%s"} 0' % snapshots,
    ]
    assert capsys.readouterr().err == (
        "mantis-backup-metrics: pgbackrest: pgbackrest --output=json info exited with status 41:"
        " ERROR: [041]: unable to open /etc/pgbackrest/pgbackrest.conf;"
        " redis_snapshot: cannot list the Redis snapshot directory:"
        " [Errno 2] No such file or directory: '%s'\n" % (tmp_path / "gone")
    )


def test_nothing_to_read_is_a_usage_error_and_writes_nothing(tmp_path, capsys):
    output = tmp_path / "mantis_backup.prom"
    output.write_text("previous\n")
    with pytest.raises(SystemExit) as exit_status:
        backup.main(["--output", str(output)])
    assert exit_status.value.code == 2
    assert output.read_text() == "previous\n"
    assert "nothing to read" in capsys.readouterr().err


def test_an_output_that_cannot_be_written_keeps_the_previous_file_and_is_status_1(tmp_path, capsys, monkeypatch):
    output = tmp_path / "mantis_backup.prom"
    output.write_text("previous\n")
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()

    def disk_full(source, destination):
        raise OSError(28, "No space")

    monkeypatch.setattr(os, "rename", disk_full)
    assert backup.main(["--output", str(output), "--redis-snapshot-dir", str(snapshots)]) == 1
    assert output.read_text() == "previous\n"
    assert sorted(os.listdir(tmp_path)) == ["mantis_backup.prom", "snapshots"]
    assert capsys.readouterr().err == "mantis-backup-metrics: cannot write %s: [Errno 28] No space\n" % output
