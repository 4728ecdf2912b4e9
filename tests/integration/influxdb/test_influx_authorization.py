"""mantis.datalayer.influx_authorization against the InfluxDB v2 API test double."""

from __future__ import annotations

from tests.support.ansible_runner import run_module

MODULE = "mantis.datalayer.influx_authorization"
WRITE_SENSORS = [{"action": "write", "name": "sensors"}]
LP = "text/plain; charset=utf-8"


def make_sensors(influx):
    org_id = influx.call("GET", "/api/v2/orgs", query={"org": "mantis-org"})[1]["orgs"][0]["id"]
    status, bucket = influx.call("POST", "/api/v2/buckets", body={"orgID": org_id, "name": "sensors"})
    assert status == 201
    return bucket


def write(influx, token, bucket="sensors"):
    return influx.call(
        "POST",
        "/api/v2/write",
        token=token,
        query={"org": "mantis-org", "bucket": bucket},
        body=b"sensor_readings,asset_id=a1 value=1\n",
        content_type=LP,
    )[0]


def test_create_noop_and_scoped_permissions(influx):
    bucket = make_sensors(influx)
    args = influx.connection(description="sensors writer", permissions=WRITE_SENSORS)
    check = run_module(MODULE, args, check=True)
    assert check.changed and "token" not in check.result and "sensors writer" not in influx.authorizations()

    first = run_module(MODULE, args)
    assert first.changed, first.output
    token = first.result["token"]
    stored = influx.authorizations()["sensors writer"]
    assert [(p["action"], p["resource"]["type"], p["resource"]["id"]) for p in stored["permissions"]] == [
        ("write", "buckets", bucket["id"])
    ]
    assert write(influx, token) == 204
    assert write(influx, token, bucket="onboarding") == 403  # http/write_handler.go

    again = run_module(MODULE, args)
    assert not again.changed and "token" not in again.result
    assert token not in again.output and influx.operator_token not in again.output


def test_different_permissions_need_replace(influx):
    make_sensors(influx)
    first = run_module(
        MODULE, influx.connection(description="reader", permissions=[{"action": "read", "name": "sensors"}])
    )
    old_id = first.result["authorization"]["id"]
    widened = influx.connection(description="reader", permissions=[{"action": "read"}])
    refused = run_module(MODULE, widened)
    assert refused.failed and "replace" in refused.result["msg"] and refused.result["msg"].startswith("permissions:")
    assert influx.authorizations()["reader"]["id"] == old_id

    replaced = run_module(MODULE, dict(widened, replace=True), diff=True)
    assert replaced.changed and replaced.result["token"]
    assert influx.authorizations()["reader"]["id"] != old_id
    assert influx.authorizations()["reader"]["permissions"][0]["resource"].get("id") is None


def test_status_and_absent(influx):
    make_sensors(influx)
    args = influx.connection(description="writer", permissions=WRITE_SENSORS)
    token = run_module(MODULE, args).result["token"]
    off = run_module(MODULE, dict(args, status="inactive"))
    assert off.changed and influx.authorizations()["writer"]["status"] == "inactive"
    assert write(influx, token) == 403
    gone = run_module(MODULE, influx.connection(description="writer", state="absent"))
    assert gone.changed and "writer" not in influx.authorizations()
    assert not run_module(MODULE, influx.connection(description="writer", state="absent")).changed


def test_unknown_bucket_and_org(influx):
    """Issue 13, defect 1: the lookup of a bucket name that does not exist answers 404 (tenant/service_bucket.go)."""
    missing = run_module(MODULE, influx.connection(description="w", permissions=[{"action": "write", "name": "nope"}]))
    assert missing.failed and missing.result["msg"].startswith("permissions: bucket 'nope' not found")
    org = run_module(MODULE, dict(influx.connection(description="w", permissions=WRITE_SENSORS), org="nowhere"))
    assert org.failed and "nowhere" in org.result["msg"]


def test_a_token_without_write_on_users_is_told_what_it_needs(influx):
    """Issue 13, defect 5: creating a token needs write:users/<user ID> besides write on the org's
    authorizations (authorization/middleware_auth.go); an org-scoped all-access token lacks it."""
    bucket = make_sensors(influx)
    org_id = influx.org_id()
    org_wide = [
        {"action": action, "resource": {"type": rtype, "orgID": org_id}}
        for rtype in ("authorizations", "buckets", "users")
        for action in ("read", "write")
    ]
    status, org_admin = influx.call(
        "POST",
        "/api/v2/authorizations",
        body={
            "orgID": org_id,
            "description": "org all-access",
            "permissions": [{"action": "read", "resource": {"type": "orgs", "id": org_id}}, *org_wide],
        },
    )
    assert status == 201
    result = run_module(
        MODULE, dict(influx.connection(description="w", permissions=WRITE_SENSORS), token=org_admin["token"])
    )
    message = result.result["msg"]
    assert result.failed and message.startswith("token:"), message
    assert "write:orgs/%s/authorizations and write:users/" % org_id in message
    assert "write:orgs/%s/buckets/%s" % (org_id, bucket["id"]) in message
    assert "w" not in influx.authorizations()
    assert org_admin["token"] not in result.output


def test_a_token_whose_value_is_not_stored(influx):
    """The value exists only in the creation response on 2.9 (authorization/storage_authorization.go):
    an existing token whose value the caller lost is reported, naming the file and `rotate`."""
    make_sensors(influx)
    args = influx.connection(description="writer", permissions=WRITE_SENSORS)
    first = run_module(MODULE, args)
    old_value, old_id = first.result["token"], first.result["authorization"]["id"]
    lost = dict(args, value_stored=False, value_file="/controller/secrets/writer.token")
    refused = run_module(MODULE, lost)
    message = refused.result["msg"]
    assert refused.failed and message.startswith("value_file:"), message
    assert "/controller/secrets/writer.token" in message and "rotate=true" in message
    assert influx.authorizations()["writer"]["id"] == old_id
    check = run_module(MODULE, dict(lost, rotate=True), check=True)
    assert check.changed and "token" not in check.result and influx.authorizations()["writer"]["id"] == old_id

    rotated = run_module(MODULE, dict(lost, rotate=True))
    assert rotated.changed and rotated.result["token"] != old_value
    assert write(influx, rotated.result["token"]) == 204
    assert write(influx, old_value) == 401  # the old token is gone
    assert not run_module(MODULE, args).changed
    assert old_value not in rotated.output and rotated.result["token"] not in refused.output
