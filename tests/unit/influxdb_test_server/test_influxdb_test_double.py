"""The InfluxDB v2 API test double behaves like the real server where the collection relies on it."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.influxdb_test_server import InfluxDBTestDouble, default_spec_path, free_port
from tests.support.influxdb_test_server.contract import REPO_ROOT
from tests.support.influxdb_test_server.state import default_shard_group_duration

OPERATOR = "operator-token-for-tests"
LP = "text/plain; charset=utf-8"


@pytest.fixture
def influx(tmp_path):
    with InfluxDBTestDouble(state_file=str(tmp_path / "state.json")) as double:
        yield double
        assert double.violations == [], "the test double broke the API contract"


@pytest.fixture
def onboarded(influx):
    influx.onboard(OPERATOR)
    return influx


def org_id(influx, name="mantis-org"):
    status, body = influx.call("GET", "/api/v2/orgs", token=OPERATOR, query={"org": name})
    assert status == 200
    return body["orgs"][0]["id"]


def create_bucket(influx, name, org="mantis-org", every=None, shard=None, token=OPERATOR):
    rule = {"type": "expire", "everySeconds": every}
    if shard is not None:
        rule["shardGroupDurationSeconds"] = shard
    body = {"orgID": org_id(influx, org), "name": name}
    if every is not None:
        body["retentionRules"] = [rule]
    return influx.call("POST", "/api/v2/buckets", token=token, body=body)


def create_token(influx, action, bucket_id, org="mantis-org", description="t"):
    oid = org_id(influx, org)
    permission = {"action": action, "resource": {"type": "buckets", "id": bucket_id, "orgID": oid}}
    return influx.call(
        "POST",
        "/api/v2/authorizations",
        token=OPERATOR,
        body={"orgID": oid, "description": description, "permissions": [permission]},
    )


def test_the_contract_is_found_beside_the_repository():
    assert default_spec_path().is_file()
    assert default_spec_path().parts[-3:] == ("shared", "specs", "influxdb-oss-v2.yml")


def test_system_endpoints_answer_without_token(influx):
    assert influx.call("GET", "/health")[1]["status"] == "pass"
    assert influx.call("GET", "/ping") == (204, None)
    assert influx.call("GET", "/ready")[1]["status"] == "ready"


def test_onboarding_is_allowed_once(influx):
    assert influx.call("GET", "/api/v2/setup") == (200, {"allowed": True})
    body = influx.onboard(OPERATOR)
    assert body["auth"]["token"] == OPERATOR
    assert influx.call("GET", "/api/v2/setup") == (200, {"allowed": False})
    status, error = influx.call(
        "POST", "/api/v2/setup", body={"username": "x", "password": "12345678", "org": "o", "bucket": "b"}
    )
    assert status == 422 and error["code"] == "conflict"


def test_a_request_that_breaks_the_contract_is_rejected(onboarded):
    # `name` must be a string and `orgID` is required by PostBucketRequest.
    status, error = onboarded.call("POST", "/api/v2/buckets", token=OPERATOR, body={"name": 42})
    assert status == 400 and error["code"] == "invalid"
    assert "does not match the InfluxDB v2 API" in error["message"]
    assert len(onboarded.rejected) == 1
    status, _body = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"limit": "many"})
    assert status == 400


def test_tokens_are_checked(onboarded):
    assert onboarded.call("GET", "/api/v2/buckets")[0] == 401
    status, error = onboarded.call("GET", "/api/v2/buckets", token="wrong")
    assert status == 401 and error["code"] == "unauthorized"


def test_bucket_names_are_unique_per_org(onboarded):
    assert create_bucket(onboarded, "sensors", every=30 * 86400)[0] == 201
    status, error = create_bucket(onboarded, "sensors")
    assert status == 422 and error["code"] == "conflict"
    assert onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})[0] == 201
    assert create_bucket(onboarded, "sensors", org="plant-2")[0] == 201
    status, body = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "sensors"})
    assert len(body["buckets"]) == 2  # without an org the lookup spans organisations


def test_retention_rules(onboarded):
    status, bucket = create_bucket(onboarded, "sensors", every=30 * 86400)
    rule = bucket["retentionRules"][0]
    assert rule["everySeconds"] == 2592000
    assert rule["shardGroupDurationSeconds"] == default_shard_group_duration(2592000) == 86400
    status, error = create_bucket(onboarded, "too-long-shards", every=86400, shard=7 * 86400)
    assert status == 422 and "shard-group duration" in error["message"]
    status, error = create_bucket(onboarded, "too-short", every=60)
    assert status == 422
    status, forever = create_bucket(onboarded, "forever", every=0)
    assert forever["retentionRules"][0]["everySeconds"] == 0
    status, patched = onboarded.call(
        "PATCH",
        "/api/v2/buckets/" + bucket["id"],
        token=OPERATOR,
        body={
            "description": "d",
            "retentionRules": [{"type": "expire", "everySeconds": 7 * 86400, "shardGroupDurationSeconds": 3600}],
        },
    )
    assert status == 200 and patched["description"] == "d"
    assert patched["retentionRules"][0] == {"type": "expire", "everySeconds": 604800, "shardGroupDurationSeconds": 3600}


def test_pagination_with_offset_limit_and_after(onboarded):
    for number in range(5):
        create_bucket(onboarded, "b%d" % number)
    _status, all_buckets = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org"})
    ids = [b["id"] for b in all_buckets["buckets"]]
    assert len(ids) == 8  # 5 + onboarding bucket + _monitoring + _tasks
    _status, first = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org", "limit": 3})
    assert [b["id"] for b in first["buckets"]] == ids[:3] and "next" in first["links"]
    _status, second = onboarded.call(
        "GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org", "limit": 3, "offset": 3}
    )
    assert [b["id"] for b in second["buckets"]] == ids[3:6]
    _status, after = onboarded.call(
        "GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org", "limit": 100, "after": ids[5]}
    )
    assert [b["id"] for b in after["buckets"]] == ids[6:] and "next" not in after["links"]
    assert onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "nope"})[0] == 404


def test_scoped_tokens_and_writes(onboarded):
    _status, sensors = create_bucket(onboarded, "sensors", every=30 * 86400)
    status, writer = create_token(onboarded, "write", sensors["id"], description="writer")
    assert status == 201 and writer["token"]
    _status, reader = create_token(onboarded, "read", sensors["id"], description="reader")
    lines = b"sensor_readings,asset_id=a1 value=1.5 1700000000000000000\nsensor_readings,asset_id=a2 value=2\n"
    query = {"org": "mantis-org", "bucket": "sensors"}
    assert onboarded.call("POST", "/api/v2/write", token=writer["token"], query=query, body=lines, content_type=LP) == (
        204,
        None,
    )
    assert (
        onboarded.call("POST", "/api/v2/write", token=reader["token"], query=query, body=lines, content_type=LP)[0]
        == 401
    )
    other = {"org": "mantis-org", "bucket": "onboarding"}
    assert (
        onboarded.call("POST", "/api/v2/write", token=writer["token"], query=other, body=lines, content_type=LP)[0]
        == 401
    )
    status, error = onboarded.call(
        "POST", "/api/v2/write", token=writer["token"], query=query, body=b"just-a-measurement\n", content_type=LP
    )
    assert status == 400 and error["line"] == 1
    assert onboarded.app.state.data["buckets"][sensors["id"]]["points"] == 2
    # a bucket-scoped token does not see other buckets or manage tokens
    status, visible = onboarded.call("GET", "/api/v2/buckets", token=reader["token"])
    assert [b["name"] for b in visible["buckets"]] == ["sensors"]
    assert onboarded.call("GET", "/api/v2/authorizations", token=reader["token"])[1]["authorizations"] == []


def test_token_values_are_shown_only_on_create(onboarded):
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, writer = create_token(onboarded, "write", sensors["id"])
    _status, listing = onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR, query={"org": "mantis-org"})
    assert all("token" not in a for a in listing["authorizations"])
    assert "token" not in onboarded.call("GET", "/api/v2/authorizations/" + writer["id"], token=OPERATOR)[1]
    _status, filtered = onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR, query={"user": "admin"})
    assert len(filtered["authorizations"]) == 2


def test_status_description_and_delete_of_tokens(onboarded):
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, writer = create_token(onboarded, "write", sensors["id"])
    path = "/api/v2/authorizations/" + writer["id"]
    status, patched = onboarded.call("PATCH", path, token=OPERATOR, body={"status": "inactive", "description": "off"})
    assert status == 200 and patched["status"] == "inactive" and patched["description"] == "off"
    assert onboarded.call("GET", "/api/v2/buckets", token=writer["token"])[0] == 401
    assert onboarded.call("DELETE", path, token=OPERATOR) == (204, None)
    assert onboarded.call("GET", path, token=OPERATOR)[0] == 404


def test_a_token_cannot_grant_more_than_it_holds(onboarded):
    _status, _sensors = create_bucket(onboarded, "sensors")
    oid = org_id(onboarded)
    _status, manager = onboarded.call(
        "POST",
        "/api/v2/authorizations",
        token=OPERATOR,
        body={
            "orgID": oid,
            "permissions": [
                {"action": "write", "resource": {"type": "authorizations", "orgID": oid}},
                {"action": "read", "resource": {"type": "buckets", "orgID": oid}},
            ],
        },
    )
    status, _body = onboarded.call(
        "POST",
        "/api/v2/authorizations",
        token=manager["token"],
        body={"orgID": oid, "permissions": [{"action": "write", "resource": {"type": "buckets", "orgID": oid}}]},
    )
    assert status == 403


def test_orgs_crud(onboarded):
    status, org = onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    assert status == 201
    path = "/api/v2/orgs/" + org["id"]
    assert onboarded.call("PATCH", path, token=OPERATOR, body={"name": "plant-3"})[1]["name"] == "plant-3"
    assert onboarded.call("GET", path, token=OPERATOR)[1]["name"] == "plant-3"
    assert onboarded.call("DELETE", path, token=OPERATOR)[0] == 204
    assert onboarded.call("GET", path, token=OPERATOR)[0] == 404


def test_state_survives_a_restart_in_a_private_file(tmp_path):
    state_file = str(tmp_path / "state.json")
    with InfluxDBTestDouble(state_file=state_file) as first:
        first.onboard(OPERATOR)
        create_bucket(first, "sensors", every=30 * 86400)
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    with InfluxDBTestDouble(state_file=state_file) as second:
        assert second.call("GET", "/api/v2/setup")[1] == {"allowed": False}
        _status, body = second.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "sensors"})
        assert body["buckets"][0]["retentionRules"][0]["everySeconds"] == 2592000


def test_runs_as_a_process(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.influxdb_test_server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-file",
            str(tmp_path / "s.json"),
        ],
        cwd=str(REPO_ROOT),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/health" % port, timeout=1) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
