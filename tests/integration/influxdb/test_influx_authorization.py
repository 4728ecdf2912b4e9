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
    assert write(influx, token, bucket="onboarding") == 401

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
    assert write(influx, token) == 401
    gone = run_module(MODULE, influx.connection(description="writer", state="absent"))
    assert gone.changed and "writer" not in influx.authorizations()
    assert not run_module(MODULE, influx.connection(description="writer", state="absent")).changed


def test_unknown_bucket_and_org(influx):
    missing = run_module(MODULE, influx.connection(description="w", permissions=[{"action": "write", "name": "nope"}]))
    assert missing.failed and "nope" in missing.result["msg"]
    org = run_module(MODULE, dict(influx.connection(description="w", permissions=WRITE_SENSORS), org="nowhere"))
    assert org.failed and "nowhere" in org.result["msg"]
