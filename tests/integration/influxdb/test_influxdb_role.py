"""The mantis.datalayer.influxdb role (its API part: influxdb_install false) against the test double.

Runs the role with ansible-playbook on the controller, against the double on a loopback port:
on a fresh server and again with nothing to change, then verify.yml's read-back checks
(playbooks/tasks/influxdb_readback.yml); and the upgrade path of
issue 13: a server set up by 2.7, restarted as 2.9 on the same state (every token becomes a
hash), converges with changed=0, and every token value the role stored still works.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import yaml
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from tests.support.ansible_runner import ANSIBLE_PLAYBOOK, COLLECTIONS_DIR, REPO_ROOT
from tests.support.influxdb_test_server import InfluxDBTestDouble

TOKEN_FILES = ("operator", "sensors-writer", "sensors-reader")


def run_role(url, work, succeed=True, **role_vars):
    """The role's stats for localhost (changed, failures, ...) and the output; fails the test when the
    run's outcome is not the one expected."""
    report, output = run_play(
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {
                "influxdb_install": False,
                "influxdb_url": url,
                "influxdb_admin_password": "role-test-password",
                "influxdb_token_dir": str(work / "tokens"),
                **role_vars,
            },
            "roles": ["mantis.datalayer.influxdb"],
        },
        work,
        succeed,
    )
    return report["stats"]["localhost"], output


def run_readback(url, work):
    """verify.yml's read-back checks (playbooks/tasks/influxdb_readback.yml) as they are recorded."""
    report, output = run_play(
        {
            "hosts": "localhost",
            "gather_facts": False,
            "vars": {"influxdb_url": url, "influxdb_token_dir": str(work / "tokens")},
            "tasks": [
                {"ansible.builtin.include_tasks": str(REPO_ROOT / "playbooks" / "tasks" / "influxdb_readback.yml")},
                {"ansible.builtin.debug": {"var": "verify_checks"}},
            ],
        },
        work,
    )
    return report["plays"][0]["tasks"][-1]["hosts"]["localhost"]["verify_checks"], output


def run_play(play, work, succeed=True):
    playbook = work / "play.yml"
    playbook.write_text(yaml.safe_dump([play]))
    env = dict(os.environ)
    env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(COLLECTIONS_DIR))
    env.update(
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert (proc.returncode == 0) == succeed, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(proc.stdout), proc.stdout


def stored_tokens(work):
    tokens = {}
    for name in TOKEN_FILES:
        path = work / "tokens" / ("localhost-%s.token" % name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        tokens[name] = path.read_text().strip()
    return tokens


def assert_tokens_work(double, tokens):
    status, _body = double.call("GET", "/api/v2/buckets", token=tokens["operator"], query={"org": "mantis-org"})
    assert status == 200
    with InfluxDBClient(url=double.url, token=tokens["sensors-writer"], org="mantis-org") as writer:
        writer.write_api(write_options=SYNCHRONOUS).write("sensors", record="sensor_readings,asset_id=a1 value=1.5")
    with InfluxDBClient(url=double.url, token=tokens["sensors-reader"], org="mantis-org") as reader:
        tables = reader.query_api().query('from(bucket: "sensors") |> range(start: -1h)')
        assert 1.5 in [record.get_value() for table in tables for record in table.records]


def test_role_on_a_fresh_2_9_server_then_nothing_to_change(tmp_path):
    with InfluxDBTestDouble(profile="2.9") as double:
        first, _output = run_role(double.url, tmp_path)
        assert first["changed"] > 0 and first["failures"] == 0
        tokens = stored_tokens(tmp_path)
        second, _output = run_role(double.url, tmp_path)
        assert second["changed"] == 0
        assert_tokens_work(double, tokens)
        checks, output = run_readback(double.url, tmp_path)
        assert [(c["check"], c["ok"]) for c in checks] == [
            ("InfluxDB writer token writes, reader token reads it back", True),
            ("InfluxDB writer cannot read, reader cannot write", True),
        ], checks
        assert not any(value in output for value in tokens.values())
        (tmp_path / "tokens" / "localhost-sensors-reader.token").unlink()
        checks, _output = run_readback(double.url, tmp_path)
        assert [c["ok"] for c in checks] == [False, False]
        assert (
            checks[0]["detail"].startswith("no token file: ")
            and "localhost-sensors-reader.token" in checks[0]["detail"]
        )
        assert double.violations == [] and double.rejected == []


def test_a_2_7_server_restarted_as_2_9_keeps_every_token(tmp_path):
    state_file = str(tmp_path / "state.json")
    with InfluxDBTestDouble(state_file=state_file, profile="2.7") as old:
        first, _output = run_role(old.url, tmp_path)
        assert first["changed"] > 0
        again, _output = run_role(old.url, tmp_path)
        assert again["changed"] == 0
        tokens = stored_tokens(tmp_path)
        assert_tokens_work(old, tokens)
    with InfluxDBTestDouble(state_file=state_file, profile="2.9") as new:
        assert all(value not in open(state_file).read() for value in tokens.values())  # hashed now
        after, _output = run_role(new.url, tmp_path)
        assert after["changed"] == 0
        assert stored_tokens(tmp_path) == tokens
        assert_tokens_work(new, tokens)
        assert new.violations == [] and new.rejected == []


def token_refused(double, value):
    status, _body = double.call("GET", "/api/v2/buckets", token=value, query={"org": "mantis-org"})
    return status == 401


def assert_rotated(double, work, tokens, rotated, kept):
    """After a rotation of `rotated`: its file holds a new working value, the old one is refused,
    `kept` is untouched. Returns the new values."""
    new_tokens = stored_tokens(work)
    assert new_tokens[rotated] != tokens[rotated]
    assert new_tokens[kept] == tokens[kept]
    assert token_refused(double, tokens[rotated])
    assert_tokens_work(double, new_tokens)
    return new_tokens


def test_a_token_without_its_file_fails_is_kept_or_rotated_as_asked(tmp_path):
    reader_file = tmp_path / "tokens" / "localhost-sensors-reader.token"
    with InfluxDBTestDouble(profile="2.9") as double:
        run_role(double.url, tmp_path)
        tokens = stored_tokens(tmp_path)
        reader_file.unlink()

        # Default: the run fails and names the missing file; nothing on the server changes.
        failed, output = run_role(double.url, tmp_path, succeed=False)
        assert failed["failures"] == 1
        assert str(reader_file) in output and "rotate" in output
        assert not reader_file.exists()
        # keep: the token is left as it is, the run is a no-op.
        kept, _output = run_role(double.url, tmp_path, influxdb_tokens_missing_file="keep")
        assert kept["changed"] == 0 and not reader_file.exists()
        # rotate: a new value is written; the old one is refused, the writer's is untouched.
        rotated, output = run_role(double.url, tmp_path, influxdb_tokens_missing_file="rotate")
        assert rotated["changed"] > 0
        new_tokens = assert_rotated(double, tmp_path, tokens, "sensors-reader", "sensors-writer")
        assert not any(value in output for value in new_tokens.values())
        # With the file back, rotate mode is a no-op.
        again, _output = run_role(double.url, tmp_path, influxdb_tokens_missing_file="rotate")
        assert again["changed"] == 0
        assert double.violations == [] and double.rejected == []


def test_rotate_on_one_token_and_a_rotation_killed_before_its_value_was_stored(tmp_path):
    writer_file = tmp_path / "tokens" / "localhost-sensors-writer.token"
    with InfluxDBTestDouble(profile="2.9") as double:
        run_role(double.url, tmp_path)
        tokens = stored_tokens(tmp_path)
        role_tokens = [
            {
                "description": "mantis sensors writer",
                "file": "sensors-writer",
                "rotate": True,
                "permissions": [{"action": "write", "name": "sensors"}],
            },
            {
                "description": "mantis sensors reader",
                "file": "sensors-reader",
                "permissions": [{"action": "read", "name": "sensors"}],
            },
        ]
        rotated, _output = run_role(double.url, tmp_path, influxdb_tokens=role_tokens)
        assert rotated["changed"] > 0
        new_tokens = assert_rotated(double, tmp_path, tokens, "sensors-writer", "sensors-reader")

        # A rotation killed after the create call left its marker beside the old value's file:
        # the next run (no rotate asked) replaces the token, and the file holds a working value.
        status, _body = double.call("GET", "/api/v2/authorizations", token=new_tokens["operator"])
        assert status == 200
        writer_file.write_text("value-of-a-token-deleted-by-the-rotation\n")
        (tmp_path / "tokens" / "localhost-sensors-writer.token.creating").write_text("")
        repaired, _output = run_role(double.url, tmp_path)
        assert repaired["changed"] > 0
        assert not (tmp_path / "tokens" / "localhost-sensors-writer.token.creating").exists()
        assert_tokens_work(double, stored_tokens(tmp_path))
        settled, _output = run_role(double.url, tmp_path)
        assert settled["changed"] == 0
        assert double.violations == [] and double.rejected == []
