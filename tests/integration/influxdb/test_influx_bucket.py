"""mantis.datalayer.influx_bucket against the InfluxDB v2 API test double."""

from __future__ import annotations

import pytest

from tests.support.ansible_runner import run_module

MODULE = "mantis.datalayer.influx_bucket"
DAY = 86400
# Checks of the module's input, connection and output, the same whatever the server's release.
ONE_PROFILE = pytest.mark.parametrize("profile", ["2.9"])


def test_create_then_noop(influx):
    """Issue 13, defect 1: the lookup of a bucket that does not exist yet answers 404 (tenant/service_bucket.go)."""
    args = influx.connection(name="sensors", retention="30d", description="sensor readings")
    first = run_module(MODULE, args)
    assert first.changed and not first.failed, first.output
    assert "POST /api/v2/buckets" in first.result["requests"]
    bucket = influx.buckets()["sensors"]
    assert bucket["retentionRules"][0]["everySeconds"] == 30 * DAY
    assert bucket["description"] == "sensor readings"
    assert first.result["bucket"]["id"] == bucket["id"]

    again = run_module(MODULE, args)
    assert not again.changed and not again.failed, again.output
    assert all(r.startswith("GET ") for r in again.result["requests"])


def test_retention_change_with_diff(influx):
    run_module(MODULE, influx.connection(name="sensors", retention="30d"))
    changed = run_module(MODULE, influx.connection(name="sensors", retention="720h", shard_group_duration="1d"))
    assert not changed.changed, "720h is 30d: nothing to change"
    changed = run_module(MODULE, influx.connection(name="sensors", retention="90d"), diff=True)
    assert changed.changed, changed.output
    assert changed.result["diff"]["before"]["retention_seconds"] == 30 * DAY
    assert changed.result["diff"]["after"]["retention_seconds"] == 90 * DAY
    assert influx.buckets()["sensors"]["retentionRules"][0]["everySeconds"] == 90 * DAY
    shard = run_module(MODULE, influx.connection(name="sensors", shard_group_duration="7d"))
    assert shard.changed
    assert influx.buckets()["sensors"]["retentionRules"][0] == {
        "type": "expire",
        "everySeconds": 90 * DAY,
        "shardGroupDurationSeconds": 7 * DAY,
    }
    forever = run_module(MODULE, influx.connection(name="sensors", retention=0))
    assert forever.changed and influx.buckets()["sensors"]["retentionRules"][0]["everySeconds"] == 0


def test_shortening_retention_below_the_shard_groups(influx):
    """Issue 13, defect 2: forever -> 1 day; the server refuses a retention shorter than the bucket's
    shard groups unless the shard-group duration changes with it (storage/engine.go, 422)."""
    run_module(MODULE, influx.connection(name="sensors", retention=0))
    assert influx.buckets()["sensors"]["retentionRules"][0]["shardGroupDurationSeconds"] == 7 * DAY
    shorter = run_module(MODULE, influx.connection(name="sensors", retention="1d"), diff=True)
    assert shorter.changed and not shorter.failed, shorter.output
    assert influx.buckets()["sensors"]["retentionRules"][0] == {
        "type": "expire",
        "everySeconds": DAY,
        "shardGroupDurationSeconds": 3600,
    }
    assert shorter.result["diff"]["after"]["shard_group_duration_seconds"] == 3600
    assert not run_module(MODULE, influx.connection(name="sensors", retention="1d")).changed


@pytest.mark.parametrize("existing", [False, True])
def test_short_shard_durations_are_idempotent(influx, existing):
    """Issue 13, defect 3: a shard-group duration under an hour is stored as an hour
    (v1/services/meta/data.go, NormalisedShardDuration); the second run changes nothing."""
    if existing:
        run_module(MODULE, influx.connection(name="sensors", retention="30d"))
    args = influx.connection(name="sensors", retention="30d", shard_group_duration="30m")
    first = run_module(MODULE, args)
    assert first.changed and not first.failed, first.output
    assert influx.buckets()["sensors"]["retentionRules"][0]["shardGroupDurationSeconds"] == 3600
    again = run_module(MODULE, args)
    assert not again.changed and not again.failed, again.output


def test_description_change(influx):
    run_module(MODULE, influx.connection(name="sensors", description="old"))
    result = run_module(MODULE, influx.connection(name="sensors", description="new"), diff=True)
    assert result.changed
    assert result.result["diff"]["before"]["description"] == "old"
    assert influx.buckets()["sensors"]["description"] == "new"
    untouched = run_module(MODULE, influx.connection(name="sensors"))
    assert not untouched.changed and influx.buckets()["sensors"]["description"] == "new"


def test_check_mode_touches_nothing(influx):
    created = run_module(MODULE, influx.connection(name="sensors", retention="30d"), check=True, diff=True)
    assert created.changed and "POST /api/v2/buckets" in created.result["requests"]
    assert "sensors" not in influx.buckets()
    run_module(MODULE, influx.connection(name="sensors", retention="30d"))
    updated = run_module(MODULE, influx.connection(name="sensors", retention="60d"), check=True)
    assert updated.changed
    assert influx.buckets()["sensors"]["retentionRules"][0]["everySeconds"] == 30 * DAY
    deleted = run_module(MODULE, influx.connection(name="sensors", state="absent"), check=True)
    assert deleted.changed and "sensors" in influx.buckets()


def test_delete_only_with_state_absent(influx):
    run_module(MODULE, influx.connection(name="sensors", retention="30d"))
    gone = run_module(MODULE, influx.connection(name="sensors", state="absent"))
    assert gone.changed and "sensors" not in influx.buckets()
    again = run_module(MODULE, influx.connection(name="sensors", state="absent"))
    assert not again.changed


def test_lookup_is_scoped_to_the_org(influx):
    status, _body = influx.call("POST", "/api/v2/orgs", body={"name": "plant-2"})
    assert status == 201
    run_module(MODULE, influx.connection(name="sensors", retention="30d"))
    other = run_module(MODULE, dict(influx.connection(name="sensors", retention="7d"), org="plant-2"))
    assert other.changed
    assert influx.buckets("mantis-org")["sensors"]["retentionRules"][0]["everySeconds"] == 30 * DAY
    assert influx.buckets("plant-2")["sensors"]["retentionRules"][0]["everySeconds"] == 7 * DAY


def test_a_token_that_may_not_create_buckets_is_told_what_it_needs(influx):
    """tenant/middleware_bucket_auth.go: creating a bucket needs write:orgs/<org ID>/buckets."""
    org_id = influx.org_id()
    status, reader = influx.call(
        "POST",
        "/api/v2/authorizations",
        body={
            "orgID": org_id,
            "permissions": [
                {"action": "read", "resource": {"type": "orgs", "id": org_id}},
                {"action": "read", "resource": {"type": "buckets", "orgID": org_id}},
            ],
        },
    )
    assert status == 201
    result = run_module(MODULE, dict(influx.connection(name="sensors"), token=reader["token"]))
    assert result.failed and result.result["msg"].startswith("token:"), result.result["msg"]
    assert "write:orgs/%s/buckets to create a bucket" % org_id in result.result["msg"]
    assert reader["token"] not in result.output


@ONE_PROFILE
def test_wrong_token(influx):
    result = run_module(MODULE, dict(influx.connection(name="sensors"), token="not-the-token"))
    assert result.failed and "401" in result.result["msg"] and "token" in result.result["msg"]
    assert "not-the-token" not in result.output


@ONE_PROFILE
def test_unknown_org(influx):
    result = run_module(MODULE, dict(influx.connection(name="sensors"), org="no-such-org"))
    assert result.failed
    assert "org" in result.result["msg"] and "no-such-org" in result.result["msg"]


@ONE_PROFILE
def test_unreachable_server_names_the_url(influx):
    result = run_module(MODULE, dict(influx.connection(name="sensors"), url="http://127.0.0.1:9", timeout=3))
    assert result.failed and "http://127.0.0.1:9" in result.result["msg"]


@ONE_PROFILE
@pytest.mark.parametrize(
    "args, parameter",
    [
        ({"name": "sensors", "retention": "thirty days"}, "retention"),
        ({"name": "sensors", "retention": "1d", "shard_group_duration": "7d"}, "shard_group_duration"),
        ({"name": "", "retention": "30d"}, "name"),
        ({"name": "sensors", "retention": "10m"}, "retention"),
    ],
)
def test_bad_input_names_the_parameter(influx, args, parameter):
    result = run_module(MODULE, influx.connection(**args))
    assert result.failed
    assert result.result["msg"].startswith(parameter + ":"), result.result["msg"]
    assert "sensors" not in influx.buckets()


def test_shard_group_longer_than_existing_retention(influx):
    run_module(MODULE, influx.connection(name="sensors", retention="1d"))
    result = run_module(MODULE, influx.connection(name="sensors", shard_group_duration="7d"))
    assert result.failed and result.result["msg"].startswith("shard_group_duration:")


@ONE_PROFILE
def test_token_never_in_output(influx):
    outputs = [
        run_module(MODULE, influx.connection(name="sensors", retention="30d"), diff=True).output,
        run_module(MODULE, influx.connection(name="sensors", retention="60d"), diff=True, check=True).output,
        run_module(MODULE, dict(influx.connection(name="sensors"), org="missing")).output,
    ]
    for output in outputs:
        assert influx.operator_token not in output


def test_org_module_creates_updates_and_deletes(influx):
    org_module = "mantis.datalayer.influx_org"
    created = run_module(org_module, dict(influx.connection(description="plant 2"), org="plant-2"))
    assert created.changed, created.output
    assert influx.call("GET", "/api/v2/orgs", query={"org": "plant-2"})[1]["orgs"][0]["description"] == "plant 2"
    assert not run_module(org_module, dict(influx.connection(description="plant 2"), org="plant-2")).changed
    check = run_module(org_module, dict(influx.connection(), org="plant-2", state="absent"), check=True)
    assert check.changed and influx.call("GET", "/api/v2/orgs", query={"org": "plant-2"})[0] == 200
    gone = run_module(org_module, dict(influx.connection(), org="plant-2", state="absent"))
    assert gone.changed and influx.call("GET", "/api/v2/orgs", query={"org": "plant-2"})[0] == 404
