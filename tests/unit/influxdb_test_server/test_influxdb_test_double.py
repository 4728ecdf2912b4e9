"""The InfluxDB v2 API test double behaves like the real server (influxdata/influxdb).

One test per behaviour; each docstring names the source file (at v2.7.11 and v2.9.1
unless it says otherwise) whose behaviour it reproduces. README.md beside the double
lists them in a table.
"""

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
from tests.support.influxdb_test_server.state import StateError

OPERATOR = "operator-token-for-tests"
LP = "text/plain; charset=utf-8"
DAY = 86400


@pytest.fixture
def influx(tmp_path):
    with InfluxDBTestDouble(state_file=str(tmp_path / "state.json")) as double:
        yield double
        assert double.violations == [], "the test double broke the API contract"


@pytest.fixture
def onboarded(influx):
    influx.onboard(OPERATOR)
    return influx


@pytest.fixture
def unchecked():
    """An onboarded test double without the contract check, for requests the API description
    forbids but the real server answers (the answers are what these tests are about)."""
    with InfluxDBTestDouble(validate=False) as double:
        double.onboard(OPERATOR)
        yield double


def org_id(influx, name="mantis-org"):
    status, body = influx.call("GET", "/api/v2/orgs", token=OPERATOR, query={"org": name})
    assert status == 200
    return body["orgs"][0]["id"]


def create_bucket(influx, name, org="mantis-org", every=None, shard=None, token=OPERATOR):
    body = {"orgID": org_id(influx, org), "name": name}
    if every is not None or shard is not None:
        rule = {"type": "expire", "everySeconds": every or 0}
        if shard is not None:
            rule["shardGroupDurationSeconds"] = shard
        body["retentionRules"] = [rule]
    return influx.call("POST", "/api/v2/buckets", token=token, body=body)


def patch_rule(influx, bucket_id, every=None, shard=None):
    rule = {"type": "expire"}
    if every is not None:
        rule["everySeconds"] = every
    if shard is not None:
        rule["shardGroupDurationSeconds"] = shard
    return influx.call("PATCH", "/api/v2/buckets/" + bucket_id, token=OPERATOR, body={"retentionRules": [rule]})


def rule_of(bucket):
    rules = bucket["retentionRules"]
    return (rules[0]["everySeconds"], rules[0]["shardGroupDurationSeconds"]) if rules else None


def create_token(influx, permissions, org="mantis-org", token=OPERATOR, description="t"):
    oid = org_id(influx, org)
    return influx.call(
        "POST",
        "/api/v2/authorizations",
        token=token,
        body={"orgID": oid, "description": description, "permissions": permissions},
    )


def bucket_permission(influx, action, bucket_id=None, org="mantis-org"):
    resource = {"type": "buckets", "orgID": org_id(influx, org)}
    if bucket_id:
        resource["id"] = bucket_id
    return {"action": action, "resource": resource}


def write(influx, token, lines, **query):
    query = dict({"org": "mantis-org", "bucket": "sensors"}, **query)
    return influx.call("POST", "/api/v2/write", token=token, query=query, body=lines, content_type=LP)


def flux_query(influx, token, text, org="mantis-org", annotations=("datatype", "group", "default")):
    body = {"query": text, "type": "flux", "dialect": {"header": True, "annotations": list(annotations)}}
    return influx.call("POST", "/api/v2/query", token=token, query={"org": org}, body=body)


# -- the contract ----------------------------------------------------------------
def test_the_contract_is_found_beside_the_repository():
    """The contract check: InfluxData's OpenAPI document beside the repository (contract.py)."""
    assert default_spec_path().is_file()
    assert default_spec_path().parts[-3:] == ("shared", "specs", "influxdb-oss-v2.yml")


def test_a_request_that_breaks_the_contract_is_rejected(onboarded):
    """The contract check: a request the document forbids is refused and recorded (contract.py)."""
    # `name` must be a string and `orgID` is required by PostBucketRequest.
    status, error = onboarded.call("POST", "/api/v2/buckets", token=OPERATOR, body={"name": 42})
    assert status == 400 and error["code"] == "invalid"
    assert "does not match the InfluxDB v2 API" in error["message"]
    assert len(onboarded.rejected) == 1


# -- system endpoints ----------------------------------------------------------------
@pytest.mark.parametrize("profile, version", [("2.7", "v2.7.11"), ("2.9", "v2.9.1")])
def test_health_and_version_headers_name_the_release(profile, version):
    """http/health.go (HealthHandler) and http/handler.go (X-Influxdb-Version, X-Influxdb-Build)."""
    with InfluxDBTestDouble(profile=profile) as influx:
        body = influx.call("GET", "/health")[1]
        assert body["name"] == "influxdb" and body["status"] == "pass" and body["version"] == version
        with urllib.request.urlopen(influx.url + "/ping") as response:
            assert response.status == 204
            assert response.headers["X-Influxdb-Version"] == version
            assert response.headers["X-Influxdb-Build"] == "OSS"


def test_ready_answers_without_token(influx):
    """http/ready.go: ReadyHandler."""
    body = influx.call("GET", "/ready")[1]
    assert body["status"] == "ready" and body["up"].endswith("s")


def test_metrics_in_prometheus_text_format(onboarded):
    """prometheus/influx.go, bolt/metrics.go and http/handler.go: the metric names a scraper finds."""
    onboarded.call("GET", "/api/v2/buckets", token=OPERATOR)
    with urllib.request.urlopen(onboarded.url + "/metrics") as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    assert (
        'influxdb_info{arch="amd64",build_date="",commit="d4fa1941fd",cpus="2",os="linux",version="v2.9.1"} 1' in text
    )
    assert "\ninfluxdb_organizations_total 1\n" in text
    assert "\ninfluxdb_buckets_total 3\n" in text  # onboarding bucket, _tasks, _monitoring
    assert "\ninfluxdb_users_total 1\n" in text and "\ninfluxdb_tokens_total 1\n" in text
    assert "# TYPE influxdb_uptime_seconds gauge" in text
    assert 'http_api_requests_total{handler="platform",method="GET",path="/api/v2/buckets",response_code="200"' in text


def test_unknown_paths_and_methods(influx):
    """http/router.go: notFoundHandler and methodNotAllowedHandler."""
    assert influx.call("GET", "/api/v2/nothing-here", token=OPERATOR) == (
        404,
        {"code": "not found", "message": "path not found"},
    )
    assert influx.call("DELETE", "/api/v2/setup") == (
        405,
        {"code": "method not allowed", "message": "allow: GET, POST"},
    )


# -- authentication and permissions ------------------------------------------------
def test_a_missing_or_wrong_token_is_unauthorized(onboarded):
    """http/authentication_middleware.go (UnauthorizedError) and http/tokens.go (Token and Bearer schemes)."""
    expected = (401, {"code": "unauthorized", "message": "unauthorized access"})
    assert onboarded.call("GET", "/api/v2/buckets") == expected
    assert onboarded.call("GET", "/api/v2/buckets", token="wrong") == expected
    assert onboarded.call("GET", "/api/v2/buckets", headers={"Authorization": "bearer " + OPERATOR})[0] == 200


def test_an_unauthorized_action_names_the_missing_permission(onboarded):
    """authorizer/authorize.go: isAllowed -- 401 "<action>:<resource> is unauthorized"."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, reader = create_token(onboarded, [bucket_permission(onboarded, "read", sensors["id"])])
    status, error = onboarded.call(
        "PATCH", "/api/v2/buckets/" + sensors["id"], token=reader["token"], body={"description": "x"}
    )
    oid = org_id(onboarded)
    assert status == 401
    assert error == {
        "code": "unauthorized",
        "message": "write:orgs/%s/buckets/%s is unauthorized" % (oid, sensors["id"]),
    }


def test_write_does_not_imply_read_and_org_wide_grants_cover_ids(onboarded):
    """authz.go: Permission.matchesV1 (actions must match; an org-wide grant covers every ID of the org)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, writer = create_token(onboarded, [bucket_permission(onboarded, "write")])
    assert onboarded.call("GET", "/api/v2/buckets/" + sensors["id"], token=writer["token"])[0] == 401
    assert write(onboarded, writer["token"], b"m f=1")[0] == 204


def test_inactive_tokens(onboarded):
    """auth.go (PermissionSet: "token is inactive") and authorizer/authorize_find.go (lists filter silently)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, token = create_token(onboarded, [bucket_permission(onboarded, "read")])
    onboarded.call("PATCH", "/api/v2/authorizations/" + token["id"], token=OPERATOR, body={"status": "inactive"})
    assert onboarded.call("GET", "/api/v2/buckets/" + sensors["id"], token=token["token"]) == (
        401,
        {"code": "unauthorized", "message": "token is inactive"},
    )
    status, listing = onboarded.call("GET", "/api/v2/buckets", token=token["token"])
    assert status == 200 and listing["buckets"] == []


# -- onboarding ------------------------------------------------------------------------
def test_onboarding_is_allowed_once(influx):
    """tenant/service_onboarding.go (IsOnboarding) and tenant/error.go (ErrOnboardingNotAllowed)."""
    assert influx.call("GET", "/api/v2/setup") == (200, {"allowed": True})
    body = influx.onboard(OPERATOR)
    assert body["auth"]["token"] == OPERATOR
    assert influx.call("GET", "/api/v2/setup") == (200, {"allowed": False})
    status, error = influx.call(
        "POST", "/api/v2/setup", body={"username": "x", "password": "12345678", "org": "o", "bucket": "b"}
    )
    assert (status, error) == (422, {"code": "conflict", "message": "onboarding has already been completed"})


def test_onboarding_names_the_missing_fields(influx):
    """tenant/service_onboarding.go: onboardUser -- 422 "missing required fields"."""
    status, error = influx.call("POST", "/api/v2/setup", body={"username": "admin", "org": "", "bucket": ""})
    assert status == 422
    assert error == {
        "code": "unprocessable entity",
        "message": "onboarding failed: missing required fields [org,bucket]",
    }


@pytest.mark.parametrize("password", ["short", "x" * 73])
def test_onboarding_password_length_leaves_nothing_behind(influx, password):
    """tenant/service_user.go (IsPasswordStrong, user deleted again) and kit/platform/errors/error_user.go (8-72)."""
    status, error = influx.call(
        "POST", "/api/v2/setup", body={"username": "admin", "password": password, "org": "o", "bucket": "b"}
    )
    assert (status, error) == (
        400,
        {"code": "invalid", "message": "passwords must be between 8 and 72 characters long"},
    )
    assert influx.call("GET", "/api/v2/setup")[1] == {"allowed": True}


def test_onboarding_accepts_72_bytes_and_no_password(tmp_path):
    """kit/platform/errors/error_user.go (MaxPasswordLen 72); tenant/service_onboarding.go (no password: none set)."""
    for password in ("x" * 72, ""):
        with InfluxDBTestDouble() as influx:
            status, _body = influx.call(
                "POST", "/api/v2/setup", body={"username": "a", "password": password, "org": "o", "bucket": "b"}
            )
            assert status == 201


def test_onboarding_with_retention_under_an_hour_is_left_half_done(influx):
    """tenant/service_onboarding.go + storage/bucket_service.go + v1/services/meta/client.go: user and org stay, 500."""
    status, error = influx.call(
        "POST",
        "/api/v2/setup",
        body={"username": "admin", "password": "12345678", "org": "o", "bucket": "b", "retentionPeriodSeconds": 1800},
    )
    assert (status, error) == (
        500,
        {"code": "internal error", "message": "retention policy duration must be at least 1h0m0s"},
    )
    assert influx.call("GET", "/api/v2/setup")[1] == {"allowed": False}
    assert influx.app.state.data["authorizations"] == {}
    assert len(influx.app.state.data["orgs"]) == 1 and len(influx.app.state.data["users"]) == 1


def test_operator_token_permissions(influx):
    """tenant/service_onboarding.go (OnboardInitialUser) and authz.go (OperPermissions: all types but instance)."""
    auth = influx.onboard(OPERATOR, username="admin")["auth"]
    assert auth["description"] == "admin's Token"
    kinds = {(p["action"], p["resource"]["type"]) for p in auth["permissions"]}
    assert ("write", "users") in kinds and ("read", "replications") in kinds
    assert not any(p["resource"]["type"] == "instance" for p in auth["permissions"])
    assert all(set(p["resource"]) == {"type"} for p in auth["permissions"])


def test_onboarding_retention_seconds_and_the_nanosecond_hours_key(influx):
    """onboarding.go: RetentionPeriod -- retentionPeriodSeconds first; retentionPeriodHrs is read as nanoseconds."""
    body = influx.call(
        "POST",
        "/api/v2/setup",
        body={"username": "a", "password": "12345678", "org": "o", "bucket": "b", "retentionPeriodHrs": 7200 * 10**9},
    )[1]
    assert rule_of(body["bucket"]) == (7200, 3600)


# -- organisations -------------------------------------------------------------------
def test_org_lookup_by_missing_name_is_404(onboarded):
    """tenant/error_org.go: OrgNotFoundByName."""
    assert onboarded.call("GET", "/api/v2/orgs", token=OPERATOR, query={"org": "nope"}) == (
        404,
        {"code": "not found", "message": 'organization name "nope" not found'},
    )


def test_org_names_are_unique(onboarded):
    """tenant/error_org.go (OrgAlreadyExistsError) and organization.go (ErrOrgNameisEmpty)."""
    assert onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "mantis-org"}) == (
        422,
        {"code": "conflict", "message": "organization with name mantis-org already exists"},
    )
    assert onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": ""}) == (
        400,
        {"code": "invalid", "message": "org name is empty"},
    )


def test_a_new_org_gets_two_system_buckets(onboarded):
    """tenant/service_org.go: CreateOrganization (_tasks 3 days, _monitoring 7 days)."""
    status, org = onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    assert status == 201
    buckets = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"orgID": org["id"]})[1]["buckets"]
    assert {b["name"]: (b["type"], rule_of(b), b["description"]) for b in buckets} == {
        "_monitoring": ("system", (7 * DAY, DAY), "System bucket for monitoring logs"),
        "_tasks": ("system", (3 * DAY, DAY), "System bucket for task logs"),
    }


def test_orgs_crud(onboarded):
    """tenant/http_server_org.go: create, rename, read and delete by ID."""
    status, org = onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    assert status == 201
    path = "/api/v2/orgs/" + org["id"]
    assert onboarded.call("PATCH", path, token=OPERATOR, body={"name": "plant-3"})[1]["name"] == "plant-3"
    assert onboarded.call("GET", path, token=OPERATOR)[1]["name"] == "plant-3"
    assert onboarded.call("DELETE", path, token=OPERATOR)[0] == 204
    assert onboarded.call("GET", path, token=OPERATOR) == (
        404,
        {"code": "not found", "message": "organization not found"},
    )


def test_deleting_an_org_deletes_its_buckets_and_hides_its_tokens(onboarded):
    """tenant/service_org.go (DeleteOrganization) and authorization/http_server.go (tokens of a missing org skipped)."""
    _status, org = onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    create_bucket(onboarded, "sensors", org="plant-2")
    create_token(onboarded, [{"action": "read", "resource": {"type": "buckets", "orgID": org["id"]}}], org="plant-2")
    onboarded.call("DELETE", "/api/v2/orgs/" + org["id"], token=OPERATOR)
    assert not [b for b in onboarded.app.state.data["buckets"].values() if b["orgID"] == org["id"]]
    listing = onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR)[1]["authorizations"]
    assert [a["description"] for a in listing] == ["admin's Token"]


# -- buckets: lookups, listing, paging ------------------------------------------------
def test_bucket_lookup_by_org_id_and_missing_name_is_404(onboarded):
    """tenant/service_bucket.go (FindBuckets -> GetBucketByName), tenant/error_bucket.go (ErrBucketNotFoundByName)."""
    status, error = onboarded.call(
        "GET", "/api/v2/buckets", token=OPERATOR, query={"orgID": org_id(onboarded), "name": "sensors"}
    )
    assert (status, error) == (404, {"code": "not found", "message": 'bucket "sensors" not found'})


def test_bucket_lookup_by_org_name_and_missing_name_is_404(onboarded):
    """tenant/service_bucket.go: FindBuckets resolves `org` first (404 for an unknown org), then the name."""
    assert onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org", "name": "x"})[0] == 404
    assert onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "nope"}) == (
        404,
        {"code": "not found", "message": 'organization name "nope" not found'},
    )


def test_bucket_name_without_org_lists_across_orgs(onboarded):
    """tenant/storage_bucket.go: ListBuckets filters by name over every org -- 200, also when empty."""
    onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    create_bucket(onboarded, "sensors")
    create_bucket(onboarded, "sensors", org="plant-2")
    body = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "sensors"})[1]
    assert len(body["buckets"]) == 2
    assert onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "none"})[1]["buckets"] == []


def test_listing_order_by_name_within_an_org_by_id_across(onboarded):
    """tenant/storage_bucket.go: listBucketsByOrg walks the org+name index; ListBuckets walks bucket IDs."""
    for name in ("zeta", "alpha", "mid"):
        create_bucket(onboarded, name)
    in_org = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org"})[1]["buckets"]
    assert [b["name"] for b in in_org] == sorted(b["name"] for b in in_org)
    everywhere = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR)[1]["buckets"]
    assert [b["id"] for b in everywhere] == sorted(b["id"] for b in everywhere)


def test_paging_links_offset_and_limits(onboarded):
    """paging.go: DecodeFindOptions (default 20, 1..100) and NewPagingLinks (`next` whenever a page is full)."""
    for number in range(5):
        create_bucket(onboarded, "b%d" % number)
    query = {"org": "mantis-org", "limit": 4}
    first = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query=query)[1]
    assert len(first["buckets"]) == 4
    assert first["links"]["self"] == "/api/v2/buckets?descending=false&limit=4&offset=0&org=mantis-org"
    assert first["links"]["next"] == "/api/v2/buckets?descending=false&limit=4&offset=4&org=mantis-org"
    second = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query=dict(query, offset=4))[1]
    assert len(second["buckets"]) == 4 and "next" in second["links"]  # full page: a `next` even at the end
    assert second["links"]["prev"] == first["links"]["self"]
    third = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query=dict(query, offset=8))[1]
    assert third["buckets"] == [] and "next" not in third["links"]


def test_limit_out_of_range(unchecked):
    """paging.go: DecodeFindOptions -- 400 "limit must be between 1 and 100"."""
    assert unchecked.call("GET", "/api/v2/buckets", token=OPERATOR, query={"limit": 101}) == (
        400,
        {"code": "invalid", "message": "limit must be between 1 and 100"},
    )


def test_after_skips_up_to_an_id(onboarded):
    """tenant/storage_bucket.go: `after` seeks past an ID (by ID across orgs; within an org, after that bucket)."""
    for number in range(3):
        create_bucket(onboarded, "b%d" % number)
    everywhere = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR)[1]["buckets"]
    ids = [b["id"] for b in everywhere]
    after = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"after": ids[2]})[1]["buckets"]
    assert [b["id"] for b in after] == ids[3:]
    in_org = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org"})[1]["buckets"]
    rest = onboarded.call(
        "GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org", "after": in_org[1]["id"]}
    )[1]["buckets"]
    assert [b["name"] for b in rest] == [b["name"] for b in in_org[2:]]


def test_a_scoped_token_sees_only_its_buckets(onboarded):
    """authorizer/authorize_find.go (AuthorizeFindBuckets); authorizer/authorize.go (system buckets: read:orgs)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, reader = create_token(onboarded, [bucket_permission(onboarded, "read", sensors["id"])])
    visible = onboarded.call("GET", "/api/v2/buckets", token=reader["token"])[1]["buckets"]
    assert [b["name"] for b in visible] == ["sensors"]
    oid = org_id(onboarded)
    _status, org_reader = create_token(onboarded, [{"action": "read", "resource": {"type": "orgs", "id": oid}}])
    system = onboarded.call("GET", "/api/v2/buckets", token=org_reader["token"])[1]["buckets"]
    assert sorted(b["name"] for b in system) == ["_monitoring", "_tasks"]


# -- buckets: create ----------------------------------------------------------------
def test_bucket_rendering(onboarded):
    """tenant/http_server_bucket.go: NewBucketResponse (description omitted when empty, links, labels)."""
    _status, bucket = create_bucket(onboarded, "sensors", every=30 * DAY)
    assert "description" not in bucket and bucket["type"] == "user" and bucket["labels"] == []
    assert bucket["links"]["write"] == "/api/v2/write?org=%s&bucket=%s" % (bucket["orgID"], bucket["id"])
    assert bucket["retentionRules"] == [{"type": "expire", "everySeconds": 30 * DAY, "shardGroupDurationSeconds": DAY}]


def test_bucket_names_are_unique_per_org(onboarded):
    """tenant/error_bucket.go: BucketAlreadyExistsError (422 conflict)."""
    assert create_bucket(onboarded, "sensors")[0] == 201
    assert create_bucket(onboarded, "sensors") == (
        422,
        {"code": "conflict", "message": "bucket with name sensors already exists"},
    )
    onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    assert create_bucket(onboarded, "sensors", org="plant-2")[0] == 201


@pytest.mark.parametrize(
    "name, message",
    [
        ("_mine", "bucket name _mine is invalid. Buckets may not start with underscore"),
        ('say "hi"', 'bucket name say "hi" is invalid. Bucket names may not include quotation marks'),
    ],
)
def test_bucket_name_rules(onboarded, name, message):
    """tenant/service_bucket.go: validBucketName (400 invalid)."""
    assert create_bucket(onboarded, name) == (400, {"code": "invalid", "message": message})


def test_bucket_create_needs_an_org_id(onboarded):
    """tenant/http_server_bucket.go: postBucketRequest.OK."""
    status, error = onboarded.call("POST", "/api/v2/buckets", token=OPERATOR, body={"name": "x", "orgID": ""})
    assert (status, error) == (400, {"code": "invalid", "message": "organization id must be provided"})


@pytest.mark.parametrize(
    "every, shard, message",
    [
        (1800, None, "retention policy duration must be at least 1h0m0s"),
        (DAY, 7 * DAY, "retention policy duration must be greater than the shard duration"),
    ],
)
def test_bucket_create_retention_errors_are_500_and_leave_no_bucket(onboarded, every, shard, message):
    """storage/bucket_service.go (cleanup), v1/services/meta/client.go and data.go (plain errors: 500)."""
    assert create_bucket(onboarded, "sensors", every=every, shard=shard) == (
        500,
        {"code": "internal error", "message": message},
    )
    assert onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "sensors"})[1]["buckets"] == []


@pytest.mark.parametrize(
    "every, shard, stored",
    [
        (0, None, 7 * DAY),
        (DAY, None, 3600),
        (30 * DAY, None, DAY),
        (200 * DAY, None, 7 * DAY),
        (30 * DAY, 1800, 3600),
        (0, 60, 3600),
        (30 * DAY, 2 * DAY, 2 * DAY),
    ],
)
def test_bucket_create_normalises_the_shard_duration(onboarded, every, shard, stored):
    """v1/services/meta/data.go (NormalisedShardDuration, shardGroupDuration) via storage/bucket_service.go."""
    _status, bucket = create_bucket(onboarded, "sensors", every=every, shard=shard)
    assert rule_of(bucket) == (every, stored)


def test_negative_durations_and_several_rules_are_422(unchecked):
    """tenant/http_server_bucket.go: postBucketRequest.OK and bucketUpdate.OK."""
    status, error = create_bucket(unchecked, "sensors", every=-1)
    assert (status, error["message"]) == (422, "expiration seconds cannot be negative")
    body = {
        "orgID": org_id(unchecked),
        "name": "x",
        "retentionRules": [{"type": "expire", "everySeconds": 0}, {"type": "expire", "everySeconds": 3600}],
    }
    status, error = unchecked.call("POST", "/api/v2/buckets", token=OPERATOR, body=body)
    assert (status, error["message"]) == (422, "buckets cannot have more than one retention rule at this time")


# -- buckets: update and delete --------------------------------------------------------
def test_shortening_retention_below_the_shard_needs_a_shard(onboarded):
    """storage/engine.go (UpdateBucketRetentionPolicy: ErrIncompatibleDurations -> 422), v1/services/meta/data.go."""
    _status, bucket = create_bucket(onboarded, "sensors")  # forever: 7-day shards
    status, error = patch_rule(onboarded, bucket["id"], every=DAY)
    assert (status, error) == (
        422,
        {
            "code": "unprocessable entity",
            "message": "shard-group duration must also be updated to be smaller than new retention duration",
        },
    )
    assert rule_of(onboarded.call("GET", "/api/v2/buckets/" + bucket["id"], token=OPERATOR)[1]) == (0, 7 * DAY)
    status, updated = patch_rule(onboarded, bucket["id"], every=DAY, shard=3600)
    assert status == 200 and rule_of(updated) == (DAY, 3600)


def test_a_shard_longer_than_the_retention_is_422(unchecked):
    """v1/services/meta/data.go: UpdateRetentionPolicy compares a new shard with the current retention."""
    _status, bucket = create_bucket(unchecked, "sensors", every=DAY)
    assert patch_rule(unchecked, bucket["id"], shard=7 * DAY)[0] == 422


def test_retention_change_keeps_the_shard(onboarded):
    """tenant/storage_bucket.go: UpdateBucket sets only what the update carries (no shard re-derived)."""
    _status, bucket = create_bucket(onboarded, "sensors", every=30 * DAY)
    status, updated = patch_rule(onboarded, bucket["id"], every=90 * DAY)
    assert status == 200 and rule_of(updated) == (90 * DAY, DAY)


def test_update_retention_under_an_hour_is_500(onboarded):
    """v1/services/meta/data.go: UpdateRetentionPolicy, ErrRetentionPolicyDurationTooLow (a plain error: 500)."""
    _status, bucket = create_bucket(onboarded, "sensors", every=DAY)
    assert patch_rule(onboarded, bucket["id"], every=600, shard=3600) == (
        500,
        {"code": "internal error", "message": "retention policy duration must be at least 1h0m0s"},
    )


def test_a_patched_shard_is_kept_as_sent(onboarded):
    """tenant/storage_bucket.go UpdateBucket stores the update's value; only the engine's copy is normalised."""
    _status, bucket = create_bucket(onboarded, "sensors", every=30 * DAY)
    status, updated = patch_rule(onboarded, bucket["id"], every=30 * DAY, shard=1800)
    assert status == 200 and rule_of(updated) == (30 * DAY, 1800)
    assert onboarded.app.state.data["buckets"][bucket["id"]]["engineShardGroupDurationSeconds"] == 3600


def test_system_buckets_cannot_be_deleted_or_renamed(onboarded):
    """tenant/error_bucket.go: errDeleteSystemBucket and errRenameSystemBucket (400 invalid)."""
    buckets = onboarded.call("GET", "/api/v2/buckets", token=OPERATOR, query={"org": "mantis-org"})[1]["buckets"]
    tasks = next(b for b in buckets if b["name"] == "_tasks")
    assert onboarded.call("DELETE", "/api/v2/buckets/" + tasks["id"], token=OPERATOR) == (
        400,
        {"code": "invalid", "message": "system buckets cannot be deleted"},
    )
    assert onboarded.call("PATCH", "/api/v2/buckets/" + tasks["id"], token=OPERATOR, body={"name": "t"}) == (
        400,
        {"code": "invalid", "message": "system buckets cannot be renamed"},
    )


def test_rename_to_a_taken_name_is_422(onboarded):
    """tenant/storage_bucket.go: UpdateBucket, ErrBucketNameNotUnique."""
    create_bucket(onboarded, "a")
    _status, b = create_bucket(onboarded, "b")
    assert onboarded.call("PATCH", "/api/v2/buckets/" + b["id"], token=OPERATOR, body={"name": "a"}) == (
        422,
        {"code": "conflict", "message": "bucket name is not unique"},
    )


def test_bucket_ids_are_checked_then_looked_up(onboarded):
    """kit/platform/id.go (invalid IDs: 400) and tenant/error_bucket.go (ErrBucketNotFound: 404)."""
    assert onboarded.call("GET", "/api/v2/buckets/xyz", token=OPERATOR) == (
        400,
        {"code": "invalid", "message": "id must have a length of 16 bytes"},
    )
    assert onboarded.call("DELETE", "/api/v2/buckets/0000000000000bad", token=OPERATOR) == (
        404,
        {"code": "not found", "message": "bucket not found"},
    )


# -- authorizations -------------------------------------------------------------------------
def test_creating_tokens_needs_write_on_users(onboarded):
    """authorization/middleware_auth.go: CreateAuthorization also needs write:users/<userID>."""
    oid = org_id(onboarded)
    _status, org_admin = create_token(
        onboarded,
        [
            {"action": "write", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "read", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "write", "resource": {"type": "buckets", "orgID": oid}},
            {"action": "write", "resource": {"type": "users", "orgID": oid}},
        ],
    )
    user_id = org_admin["userID"]
    status, error = create_token(onboarded, [bucket_permission(onboarded, "write")], token=org_admin["token"])
    assert (status, error) == (401, {"code": "unauthorized", "message": "write:users/%s is unauthorized" % user_id})


def test_changing_and_deleting_tokens_need_write_on_users(onboarded):
    """authorization/middleware_auth.go: UpdateAuthorization and DeleteAuthorization check write:users/<userID>."""
    oid = org_id(onboarded)
    _status, manager = create_token(
        onboarded,
        [
            {"action": "write", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "read", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "read", "resource": {"type": "users"}},
        ],
    )
    _status, other = create_token(onboarded, [bucket_permission(onboarded, "read")])
    path = "/api/v2/authorizations/" + other["id"]
    assert onboarded.call("PATCH", path, token=manager["token"], body={"status": "inactive"})[0] == 401
    assert onboarded.call("DELETE", path, token=manager["token"]) == (
        401,
        {"code": "unauthorized", "message": "write:users/%s is unauthorized" % other["userID"]},
    )


def test_a_token_cannot_grant_more_than_it_holds(onboarded):
    """authorizer/auth.go: VerifyPermissions -- 403 "permission ... is not allowed"."""
    oid = org_id(onboarded)
    _status, manager = create_token(
        onboarded,
        [
            {"action": "write", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "write", "resource": {"type": "users"}},
            {"action": "read", "resource": {"type": "buckets", "orgID": oid}},
        ],
    )
    status, error = create_token(onboarded, [bucket_permission(onboarded, "write")], token=manager["token"])
    wanted = "write:orgs/%s/buckets" % oid
    assert status == 403
    assert error == {
        "code": "forbidden",
        "message": "permission %s is not allowed: %s is unauthorized" % (wanted, wanted),
    }


def test_a_permission_of_another_org_is_invalid(onboarded):
    """auth.go: Authorization.Valid -- 400 "permission ... is not for org id ..."."""
    _status, org = onboarded.call("POST", "/api/v2/orgs", token=OPERATOR, body={"name": "plant-2"})
    status, error = create_token(onboarded, [{"action": "read", "resource": {"type": "buckets", "orgID": org["id"]}}])
    assert status == 400
    assert error["message"] == "permission read:orgs/%s/buckets is not for org id %s" % (org["id"], org_id(onboarded))


def test_a_token_needs_permissions(unchecked):
    """authorization/http_server.go: postAuthorizationRequest.Validate."""
    assert create_token(unchecked, []) == (
        400,
        {"code": "invalid", "message": "authorization must include permissions"},
    )


def test_a_permission_on_a_missing_bucket_is_created_without_names(onboarded):
    """authorization/http_server.go: newPermissionsResponse skips names it cannot find (no check of the ID)."""
    status, token = create_token(onboarded, [bucket_permission(onboarded, "read", "0000000000000bad")])
    assert status == 201
    assert token["permissions"][0]["resource"] == {
        "type": "buckets",
        "id": "0000000000000bad",
        "orgID": org_id(onboarded),
    }


def test_token_rendering_with_names(onboarded):
    """authorization/http_server.go: authResponse (org and user names, resource and org names)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, token = create_token(onboarded, [bucket_permission(onboarded, "write", sensors["id"])], description="w")
    assert token["org"] == "mantis-org" and token["user"] == "admin" and token["status"] == "active"
    assert token["permissions"][0]["resource"]["name"] == "sensors"
    assert token["permissions"][0]["resource"]["org"] == "mantis-org"
    assert token["links"] == {
        "self": "/api/v2/authorizations/" + token["id"],
        "user": "/api/v2/users/" + token["userID"],
    }
    assert len(token["token"]) == 88 and token["token"].endswith("==")  # rand/token.go: 64 bytes, base64


def test_listing_tokens_needs_read_on_their_users(onboarded):
    """authorizer/authorize_find.go: AuthorizeFindAuthorizations needs read on the token and on its user."""
    oid = org_id(onboarded)
    _status, reader = create_token(
        onboarded, [{"action": "read", "resource": {"type": "authorizations", "orgID": oid}}]
    )
    assert onboarded.call("GET", "/api/v2/authorizations", token=reader["token"])[1]["authorizations"] == []
    _status, both = create_token(
        onboarded,
        [
            {"action": "read", "resource": {"type": "authorizations", "orgID": oid}},
            {"action": "read", "resource": {"type": "users"}},
        ],
    )
    assert len(onboarded.call("GET", "/api/v2/authorizations", token=both["token"])[1]["authorizations"]) == 3


def test_listing_filters_and_order(onboarded):
    """authorization/http_server.go (org, user filters; `token` is not read) and storage_authorization.go (ID order)."""
    for number in range(3):
        create_token(onboarded, [bucket_permission(onboarded, "read")], description="t%d" % number)
    listing = onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR, query={"org": "mantis-org"})[1]
    ids = [a["id"] for a in listing["authorizations"]]
    assert ids == sorted(ids) and len(ids) == 4 and listing["links"] == {"self": "/api/v2/authorizations"}
    by_token = onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR, query={"token": "whatever"})[1]
    assert len(by_token["authorizations"]) == 4
    assert onboarded.call("GET", "/api/v2/authorizations", token=OPERATOR, query={"user": "nobody"})[0] == 404


def test_2_7_shows_token_values_in_every_read(tmp_path):
    """authorization/http_server.go at v2.7.11: authResponse.Token is the stored value."""
    with InfluxDBTestDouble(profile="2.7") as influx:
        influx.onboard(OPERATOR)
        _status, token = create_token(influx, [bucket_permission(influx, "read")])
        listed = influx.call("GET", "/api/v2/authorizations/" + token["id"], token=OPERATOR)[1]
        assert listed["token"] == token["token"]


def test_2_9_shows_a_token_value_only_when_it_is_created(tmp_path):
    """authorization/storage_authorization.go at v2.9.1: encodeAuthorization stores no value (hash only)."""
    with InfluxDBTestDouble(profile="2.9", state_file=str(tmp_path / "s.json")) as influx:
        created = influx.onboard(OPERATOR)
        assert created["auth"]["token"] == OPERATOR and created["auth"]["hashedToken"].startswith("$influxdb2-sha256$")
        _status, token = create_token(influx, [bucket_permission(influx, "read")])
        assert token["token"]
        read = influx.call("GET", "/api/v2/authorizations/" + token["id"], token=OPERATOR)[1]
        assert read["token"] == ""
        listing = influx.call("GET", "/api/v2/authorizations", token=OPERATOR)[1]["authorizations"]
        assert {a["token"] for a in listing} == {""}
        patched = influx.call(
            "PATCH", "/api/v2/authorizations/" + token["id"], token=OPERATOR, body={"description": "d"}
        )
        assert patched[1]["token"] == ""
        assert token["token"] not in (tmp_path / "s.json").read_text()
        # the hash is never a token
        hashed = influx.app.state.data["authorizations"][token["id"]]["hashedToken"]
        assert influx.call("GET", "/api/v2/buckets", token=hashed)[0] == 401


def test_restarting_2_7_as_2_9_hashes_tokens_that_keep_working(tmp_path):
    """authorization/storage.go at v2.9.1: MigrateTokens on start -- stored values become hashes, still valid."""
    state_file = str(tmp_path / "state.json")
    with InfluxDBTestDouble(state_file=state_file, profile="2.7") as old:
        old.onboard(OPERATOR)
        _status, token = create_token(old, [bucket_permission(old, "read")])
    assert token["token"] in open(state_file).read()
    with InfluxDBTestDouble(state_file=state_file, profile="2.9") as new:
        assert token["token"] not in open(state_file).read()
        assert new.call("GET", "/api/v2/buckets", token=token["token"])[0] == 200
        assert new.call("GET", "/api/v2/authorizations/" + token["id"], token=OPERATOR)[1]["token"] == ""


def test_2_7_refuses_a_state_opened_by_2_9(tmp_path):
    """kv/migration/migration.go and kit/migration/errors.go: an older release refuses newer metadata."""
    state_file = str(tmp_path / "state.json")
    with InfluxDBTestDouble(state_file=state_file, profile="2.9") as new:
        new.onboard(OPERATOR)
    with pytest.raises(StateError, match="influxd downgrade"):
        InfluxDBTestDouble(state_file=state_file, profile="2.7")


def test_status_description_and_delete_of_tokens(onboarded):
    """authorization/service.go: UpdateAuthorization (status, description) and DeleteAuthorization."""
    _status, token = create_token(onboarded, [bucket_permission(onboarded, "read")])
    path = "/api/v2/authorizations/" + token["id"]
    status, patched = onboarded.call("PATCH", path, token=OPERATOR, body={"status": "inactive", "description": "off"})
    assert status == 200 and patched["status"] == "inactive" and patched["description"] == "off"
    assert onboarded.call("DELETE", path, token=OPERATOR) == (204, None)
    assert onboarded.call("GET", path, token=OPERATOR) == (
        404,
        {"code": "not found", "message": "authorization not found"},
    )


# -- write --------------------------------------------------------------------------------
def test_write_org_by_name_or_id_bucket_by_name_or_id(onboarded):
    """http/requests.go (queryOrganization: name or ID) and http/write_handler.go (findBucket: ID, then name)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    oid = org_id(onboarded)
    assert write(onboarded, OPERATOR, b"m f=1 1")[0] == 204
    assert write(onboarded, OPERATOR, b"m f=2 2", org=oid)[0] == 204
    assert write(onboarded, OPERATOR, b"m f=3 3", org=oid, bucket=sensors["id"])[0] == 204
    assert write(onboarded, OPERATOR, b"m f=4 4", org=None, orgID=oid)[0] == 204
    assert len(onboarded.app.state.points_of(sensors["id"])) == 4


def test_write_errors_for_org_and_bucket(onboarded):
    """http/write_handler.go (decodeWriteRequest, findBucket) and organization.go (ErrInvalidOrgFilter)."""
    create_bucket(onboarded, "sensors")
    assert write(onboarded, OPERATOR, b"m f=1", bucket="nope") == (
        404,
        {"code": "not found", "message": 'bucket "nope" not found'},
    )
    assert write(onboarded, OPERATOR, b"m f=1", org="nope")[1]["message"] == 'organization name "nope" not found'


def test_write_needs_an_org_and_a_valid_precision(unchecked):
    """http/write_handler.go (decodeWriteRequest: precision) and organization.go (ErrInvalidOrgFilter)."""
    query = {"bucket": "onboarding"}
    status, error = unchecked.call("POST", "/api/v2/write", token=OPERATOR, query=query, body=b"m f=1", content_type=LP)
    assert (status, error) == (400, {"code": "invalid", "message": "Please provide either orgID or org"})
    assert write(unchecked, OPERATOR, b"m f=1", bucket="onboarding", precision="h") == (
        400,
        {"code": "invalid", "message": "invalid precision; valid precision units are ns, us, ms, and s"},
    )


def test_write_without_permission_is_403(onboarded):
    """http/write_handler.go: checkBucketWritePermissions -- 403 "insufficient permissions for write"."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, reader = create_token(onboarded, [bucket_permission(onboarded, "read", sensors["id"])])
    assert write(onboarded, reader["token"], b"m f=1") == (
        403,
        {"code": "forbidden", "message": "insufficient permissions for write"},
    )


def test_malformed_lines_fail_the_whole_write(onboarded):
    """models/points.go: ParsePointsWithPrecision -- every bad line listed, nothing stored (points_parser.go)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    status, error = write(onboarded, OPERATOR, b"good f=1\njust-a-measurement\nm f=1 notatime\n")
    assert status == 400 and error["code"] == "invalid"
    assert error["message"] == (
        "unable to parse 'just-a-measurement': missing fields\nunable to parse 'm f=1 notatime': bad timestamp"
    )
    assert onboarded.app.state.points_of(sensors["id"]) == []


def test_line_protocol_types_quotes_escapes_and_precision(onboarded):
    """models/points.go: field types (i, u, t/f, floats), quoted strings with spaces, escapes, comments, precision."""
    _status, sensors = create_bucket(onboarded, "sensors")
    lines = (
        b"# a comment\n"
        b"sensor\\ readings,asset\\,id=a\\ 1,site=x\\=y "
        b'value=0.45,count=3i,big=7u,ok=t,status="all ok, \\"fine\\" = yes" 1700000000\n'
    )
    assert write(onboarded, OPERATOR, lines, precision="s")[0] == 204
    stored = {p[2]: p for p in onboarded.app.state.points_of(sensors["id"])}
    assert stored["value"][:2] == ("sensor readings", (("asset,id", "a 1"), ("site", "x=y")))
    assert stored["value"][3] == 1_700_000_000 * 10**9
    assert {field: (p[4], p[5]) for field, p in stored.items()} == {
        "value": ("float", 0.45),
        "count": ("integer", 3),
        "big": ("unsigned", 7),
        "ok": ("boolean", True),
        "status": ("string", 'all ok, "fine" = yes'),
    }


def test_a_point_at_the_same_time_replaces_the_earlier_one(onboarded):
    """tsdb/engine/tsm1/encoding.gen.go: Values.Deduplicate keeps the last value written for a time."""
    _status, sensors = create_bucket(onboarded, "sensors")
    write(onboarded, OPERATOR, b"m,a=1 f=1 5")
    write(onboarded, OPERATOR, b"m,a=1 f=2 5")
    assert [p[5] for p in onboarded.app.state.points_of(sensors["id"])] == [2.0]


# -- query -----------------------------------------------------------------------------
def test_query_answers_annotated_csv(onboarded):
    """flux csv/result.go (v0.195.2, built into both releases): annotations, columns, CRLF, tables per series+field."""
    create_bucket(onboarded, "sensors")
    now = time.time_ns()
    write(onboarded, OPERATOR, b'sensor_readings,asset_id=a1,sensor_id=s1 value=0.45,status="ok" %d' % now)
    status, text = flux_query(
        onboarded,
        OPERATOR,
        'from(bucket: "sensors") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "sensor_readings")',
    )
    assert status == 200
    lines = text.split("\r\n")
    assert (
        lines[0]
        == "#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,string,string"
    )
    assert lines[1] == "#group,false,false,true,true,false,false,true,true,true,true"
    assert lines[2] == "#default,_result,,,,,,,,,"
    assert lines[3] == ",result,table,_start,_stop,_time,_value,_field,_measurement,asset_id,sensor_id"
    assert lines[4].startswith(",,0,") and lines[4].endswith(",ok,status,sensor_readings,a1,s1")
    assert lines[5] == "" and lines[6].startswith("#datatype,") and ",double," in lines[6]  # the value type changed
    assert lines[10].endswith(",0.45,value,sensor_readings,a1,s1") and lines[10].startswith(",,1,")
    assert text.endswith("\r\n\r\n")


def test_query_filters_and_time_range(onboarded):
    """flux execute/bounds.go (Bounds.Contains: start <= _time < stop); filter() with and/or/not and comparisons."""
    create_bucket(onboarded, "sensors")
    write(
        onboarded,
        OPERATOR,
        b"m,a=1 v=1 1000000000000000000\nm,a=2 v=2 1000000000000000000\nm,a=1 v=3 2000000000000000000",
    )
    status, text = flux_query(
        onboarded,
        OPERATOR,
        'from(bucket:"sensors")\n  |> range(start: 2001-01-01T00:00:00Z, stop: 2100-01-01T00:00:00Z)\n'
        '  |> filter(fn: (r) => r["a"] == "1" and not (r._value < 2.5))',
    )
    rows = [line for line in text.split("\r\n") if line.startswith(",,")]
    assert status == 200 and len(rows) == 1 and ",3,v,m,1" in rows[0]


def test_query_of_nothing_is_an_empty_line(onboarded):
    """flux result.go (DelimitedMultiResultEncoder): no table, only the delimiter after the result."""
    create_bucket(onboarded, "sensors")
    assert flux_query(onboarded, OPERATOR, 'from(bucket: "sensors") |> range(start: -1h)') == (200, "\r\n")


def test_query_without_read_permission_cannot_find_the_bucket(onboarded):
    """query/dependency.go (BucketLookup over authorizer/bucket.go) and query/control/controller.go (404)."""
    _status, sensors = create_bucket(onboarded, "sensors")
    _status, writer = create_token(onboarded, [bucket_permission(onboarded, "write", sensors["id"])])
    expected = (
        404,
        {"code": "not found", "message": 'failed to initialize execute state: could not find bucket "sensors"'},
    )
    assert flux_query(onboarded, writer["token"], 'from(bucket: "sensors") |> range(start: -1h)') == expected
    assert flux_query(onboarded, OPERATOR, 'from(bucket: "nope") |> range(start: -1h)')[0] == 404


def test_query_request_errors(onboarded):
    """http/query.go (decodeQueryRequest: 400, "failed to decode request body") and
    query/stdlib/influxdata/influxdb/from.go (a read without range is refused)."""
    create_bucket(onboarded, "sensors")
    status, error = flux_query(onboarded, OPERATOR, 'from(bucket: "sensors")', org="nope")
    assert status == 400
    assert error["message"] == 'failed to decode request body: organization name "nope" not found'
    status, error = flux_query(onboarded, OPERATOR, 'from(bucket: "sensors")')
    assert status == 400 and "cannot submit unbounded read" in error["message"]
    status, error = flux_query(onboarded, OPERATOR, 'from(bucket: "sensors") |> range(start: -1h) |> mean()')
    assert status == 400 and "test double" in error["message"]


def test_query_as_raw_flux(onboarded):
    """http/query.go: decodeQueryRequest accepts application/vnd.flux bodies."""
    create_bucket(onboarded, "sensors")
    write(onboarded, OPERATOR, b"m v=1")
    status, text = onboarded.call(
        "POST",
        "/api/v2/query",
        token=OPERATOR,
        query={"org": "mantis-org"},
        body=b'from(bucket: "sensors") |> range(start: -1m)',
        content_type="application/vnd.flux",
    )
    assert status == 200 and ",1,v,m" in text


# -- persistence and the process ---------------------------------------------------
def test_state_survives_a_restart_in_a_private_file(tmp_path):
    """The server keeps its metadata (BoltDB) and data (engine) across restarts; the double a 0600 JSON file."""
    state_file = str(tmp_path / "state.json")
    with InfluxDBTestDouble(state_file=state_file) as first:
        first.onboard(OPERATOR)
        create_bucket(first, "sensors", every=30 * DAY)
        write(first, OPERATOR, b"m v=1 1")
    assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
    with InfluxDBTestDouble(state_file=state_file) as second:
        assert second.call("GET", "/api/v2/setup")[1] == {"allowed": False}
        _status, body = second.call("GET", "/api/v2/buckets", token=OPERATOR, query={"name": "sensors"})
        assert body["buckets"][0]["retentionRules"][0]["everySeconds"] == 30 * DAY
        assert len(second.app.state.points_of(body["buckets"][0]["id"])) == 1


def test_runs_as_a_process_with_a_profile(tmp_path):
    """The double as a service (Molecule, demo): --profile chooses the release it behaves like."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.influxdb_test_server",
            "--port",
            str(port),
            "--profile",
            "2.7",
            "--state-file",
            str(tmp_path / "s.json"),
            "--no-contract-validation",
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
                    assert response.headers["X-Influxdb-Version"] == "v2.7.11"
                    break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
