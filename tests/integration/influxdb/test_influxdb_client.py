"""module_utils.influxdb's client against the InfluxDB v2 API test double (no Ansible run)."""

from __future__ import annotations

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils.influxdb import InfluxDBClient, InfluxDBError


class FakeModule:
    """Only what the client reads from an AnsibleModule: params and check_mode."""

    def __init__(self, check_mode=False, **params):
        self.check_mode = check_mode
        self.params = dict(validate_certs=True, ca_path=None, timeout=5, org=None, token=None)
        self.params.update(params)


def client_for(influx, **params):
    options = dict(url=influx.url, token=influx.operator_token, org="mantis-org")
    options.update(params)
    return InfluxDBClient(FakeModule(**options))


def test_find_bucket_treats_404_and_hidden_buckets_as_absent(influx):
    """tenant/service_bucket.go: a name lookup with orgID answers 404 when the bucket does not exist;
    authorizer/authorize_find.go: a bucket the token may not read is left out (200, empty)."""
    org_id = influx.org_id()
    client = client_for(influx)
    assert client.find_bucket(org_id, "sensors") is None
    status, sensors = influx.call("POST", "/api/v2/buckets", body={"orgID": org_id, "name": "sensors"})
    assert status == 201
    assert client.find_bucket(org_id, "sensors")["id"] == sensors["id"]
    assert client.requests == ["GET /api/v2/buckets?name=sensors&orgID=%s" % org_id] * 2
    status, other = influx.call(
        "POST",
        "/api/v2/authorizations",
        body={
            "orgID": org_id,
            "permissions": [{"action": "read", "resource": {"type": "buckets", "id": "0" * 15 + "1"}}],
        },
    )
    assert client_for(influx, token=other["token"]).find_bucket(org_id, "sensors") is None


def test_requests_never_hold_the_token(influx):
    client = client_for(influx)
    client.org_id()
    assert client.requests == ["GET /api/v2/orgs?org=mantis-org"]
    assert all(influx.operator_token not in r for r in client.requests)


def test_check_mode_records_but_does_not_send(influx):
    client = InfluxDBClient(FakeModule(check_mode=True, url=influx.url, token=influx.operator_token))
    assert client.change("DELETE", "/api/v2/buckets/0000000000000000") is None
    assert client.requests == ["DELETE /api/v2/buckets/0000000000000000"]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"token": "wrong"}, "rejected the token (401"),
        ({"org": "missing-org"}, "org: organization 'missing-org' not found"),
        ({"url": "http://127.0.0.1:9"}, "cannot reach the InfluxDB server at http://127.0.0.1:9"),
        ({"token": None}, "token is required"),
    ],
)
def test_clear_errors(influx, params, expected):
    client = client_for(influx, **params)
    with pytest.raises(InfluxDBError) as error:
        client.org_id()
    assert expected in str(error.value)
