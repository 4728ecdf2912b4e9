"""The plan steps of the InfluxDB modules, without a server."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.duration import DurationError
from ansible_collections.mantis.datalayer.plugins.modules.influx_authorization import (
    api_permissions,
    plan_authorization,
)
from ansible_collections.mantis.datalayer.plugins.modules.influx_bucket import (
    desired_settings,
    expected_after,
    plan_bucket,
)
from ansible_collections.mantis.datalayer.plugins.modules.influx_onboarding import onboarding_request

DAY = 86400
CURRENT = dict(
    id="b1",
    name="sensors",
    org="mantis-org",
    org_id="o1",
    description="readings",
    retention_seconds=30 * DAY,
    shard_group_duration_seconds=DAY,
)


def desired(**params):
    base = dict(name="sensors", description=None, retention=None, shard_group_duration=None)
    base.update(params)
    settings = desired_settings(base)
    settings["org_id"] = "o1"
    return settings


def test_create_body():
    action, body = plan_bucket({}, desired(retention="30d", description="d"), "present")
    assert action == "create"
    assert body == {
        "orgID": "o1",
        "name": "sensors",
        "description": "d",
        "retentionRules": [{"type": "expire", "everySeconds": 30 * DAY}],
    }


def test_nothing_to_do_when_equal_or_unmanaged():
    assert plan_bucket(CURRENT, desired(retention="720h"), "present") == (None, None)
    assert plan_bucket(CURRENT, desired(), "present") == (None, None)


def test_update_only_what_differs():
    assert plan_bucket(CURRENT, desired(description="new"), "present") == ("update", {"description": "new"})
    _action, body = plan_bucket(CURRENT, desired(retention="90d"), "present")
    assert body == {"retentionRules": [{"type": "expire", "everySeconds": 90 * DAY}]}
    _action, body = plan_bucket(CURRENT, desired(shard_group_duration="1h"), "present")
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 30 * DAY, "shardGroupDurationSeconds": 3600}]


def test_delete_only_when_absent_and_present():
    assert plan_bucket(CURRENT, desired(), "absent") == ("delete", None)
    assert plan_bucket({}, desired(), "absent") == (None, None)


def test_shard_durations_are_compared_as_the_server_stores_them():
    # Under an hour is stored as an hour (NormalisedShardDuration): the request says so, and a
    # bucket that has it already needs nothing.
    _action, body = plan_bucket({}, desired(retention="30d", shard_group_duration="30m"), "present")
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 30 * DAY, "shardGroupDurationSeconds": 3600}]
    hourly = dict(CURRENT, shard_group_duration_seconds=3600)
    assert plan_bucket(hourly, desired(shard_group_duration="30m"), "present") == (None, None)
    assert plan_bucket(hourly, desired(shard_group_duration="10s"), "present") == (None, None)
    # 0 is the server's default for the retention
    assert plan_bucket(CURRENT, desired(shard_group_duration=0), "present") == (None, None)


def test_a_shorter_retention_brings_its_shard_duration():
    # forever (7-day shard groups) -> 1 day: the server refuses a retention shorter than the
    # current shard groups, so the module sends the server's choice for the new retention.
    forever = dict(CURRENT, retention_seconds=0, shard_group_duration_seconds=7 * DAY)
    _action, body = plan_bucket(forever, desired(retention="1d"), "present")
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": DAY, "shardGroupDurationSeconds": 3600}]
    after = expected_after(forever, desired(retention="1d"), "update", "mantis-org", body)
    assert (after["retention_seconds"], after["shard_group_duration_seconds"]) == (DAY, 3600)
    # a longer retention keeps the shard groups
    _action, body = plan_bucket(CURRENT, desired(retention="90d"), "present")
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 90 * DAY}]


def test_shard_group_longer_than_retention_is_refused():
    with pytest.raises(ValueError, match=r"^shard_group_duration:"):
        plan_bucket({}, desired(retention="1d", shard_group_duration="2d"), "present")
    with pytest.raises(ValueError, match=r"^shard_group_duration:"):
        plan_bucket(CURRENT, desired(shard_group_duration="60d"), "present")
    # forever retention takes any shard-group duration
    assert plan_bucket({}, desired(retention=0, shard_group_duration="7d"), "present")[0] == "create"


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"name": ""}, "name"),
        ({"name": "  "}, "name"),
        ({"name": "_tasks"}, "name"),
        ({"retention": "soon"}, "retention"),
        ({"retention": "30m"}, "retention"),
        ({"shard_group_duration": "x"}, "shard_group_duration"),
    ],
)
def test_bad_input_names_the_parameter(params, parameter):
    with pytest.raises((ValueError, DurationError), match=r"^%s:" % parameter):
        desired(**params)


def test_expected_after_in_check_mode():
    action, body = plan_bucket({}, desired(retention="30d"), "present")
    after = expected_after({}, desired(retention="30d"), action, "mantis-org", body)
    assert after["retention_seconds"] == 30 * DAY and after["id"] == ""
    assert expected_after(CURRENT, desired(), "delete", "mantis-org") == {}


def perm(action, bucket_id=None):
    resource = {"type": "buckets", "orgID": "o1"}
    if bucket_id:
        resource["id"] = bucket_id
    return {"action": action, "resource": resource}


def test_permissions_by_bucket_name():
    permissions = [
        {"action": "write", "type": "buckets", "name": "sensors", "id": None},
        {"action": "read", "type": "buckets", "name": None, "id": None},
    ]
    assert api_permissions(permissions, "o1", {"sensors": "b1"}) == [perm("write", "b1"), perm("read")]
    with pytest.raises(ValueError, match=r"^permissions: bucket 'x'"):
        api_permissions([{"action": "read", "type": "buckets", "name": "x", "id": None}], "o1", {})


def test_a_token_whose_value_is_lost_fails_unless_rotated():
    token = {"id": "a1", "description": "w", "status": "active", "permissions": [perm("write", "b1")]}
    with pytest.raises(ValueError, match=r"^value_file: .*/secrets/w.token.*rotate=true"):
        plan_authorization([token], [perm("write", "b1")], "active", "present", False, False, "/secrets/w.token")
    assert plan_authorization([token], [perm("write", "b1")], "active", "present", False, True, "/x") == [
        ("DELETE", token),
        ("POST", None),
    ]
    # nothing to lose when the token does not exist yet, or is replaced anyway
    assert plan_authorization([], [perm("write", "b1")], "active", "present", False, False, "/x") == [("POST", None)]
    assert plan_authorization([token], [perm("read", "b1")], "active", "present", True, False, "/x")[1] == (
        "POST",
        None,
    )
    assert plan_authorization([token], [perm("write", "b1")], "active", "present", False, True) == [
        ("DELETE", token),
        ("POST", None),
    ]


def test_authorization_plan():
    token = {
        "id": "a1",
        "description": "w",
        "status": "active",
        "permissions": [dict(perm("write", "b1"), resource=dict(perm("write", "b1")["resource"], name="sensors"))],
    }
    assert plan_authorization([], [perm("write", "b1")], "active", "present", False) == [("POST", None)]
    assert plan_authorization([token], [perm("write", "b1")], "active", "present", False) == []
    assert plan_authorization([token], [perm("write", "b1")], "inactive", "present", False) == [("PATCH", token)]
    with pytest.raises(ValueError, match="replace=true"):
        plan_authorization([token], [perm("read", "b1")], "active", "present", False)
    assert plan_authorization([token], [perm("read", "b1")], "active", "present", True) == [
        ("DELETE", token),
        ("POST", None),
    ]
    assert plan_authorization([token], [], "active", "absent", False) == [("DELETE", token)]
    with pytest.raises(ValueError, match=r"^description:"):
        plan_authorization([token, token], [perm("write", "b1")], "active", "present", False)


def test_onboarding_request():
    params = dict(
        username="admin", password="12345678", org="mantis-org", bucket="sensors", retention="30d", token=None
    )
    assert onboarding_request(params)["retentionPeriodSeconds"] == 30 * DAY
    assert "token" not in onboarding_request(params)
    with pytest.raises(ValueError, match=r"^password:"):
        onboarding_request(dict(params, password="short"))
    with pytest.raises(ValueError, match=r"^org:"):
        onboarding_request(dict(params, org=""))


@pytest.mark.parametrize(
    "change, parameter",
    [
        ({"password": "x" * 73}, "password"),
        ({"password": "é" * 37}, "password"),  # 74 bytes: the limit counts bytes
        ({"retention": "30m"}, "retention"),
        ({"retention": 59}, "retention"),
    ],
)
def test_onboarding_refuses_what_the_server_would_refuse(change, parameter):
    params = dict(username="admin", password="12345678", org="mantis-org", bucket="sensors", retention=0, token=None)
    with pytest.raises(ValueError, match=r"^%s:" % parameter):
        onboarding_request(dict(params, **change))
    assert onboarding_request(dict(params, password="x" * 72, retention="1h"))["retentionPeriodSeconds"] == 3600
