"""module_utils.influxdb's client against the InfluxDB v2 API test double (no Ansible run)."""

from __future__ import annotations

import re

import pytest
from ansible_collections.mantis.datalayer.plugins.module_utils import influxdb
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


def test_read_all_follows_pages(influx, monkeypatch):
    monkeypatch.setattr(influxdb, "PAGE_SIZE", 4)
    org_id = influx.call("GET", "/api/v2/orgs", query={"org": "mantis-org"})[1]["orgs"][0]["id"]
    for number in range(9):
        influx.call("POST", "/api/v2/buckets", body={"orgID": org_id, "name": "b%d" % number})
    client = client_for(influx)
    buckets = client.read_all("/api/v2/buckets", "buckets", {"orgID": org_id})
    assert len(buckets) == 12  # 9 + onboarding + _monitoring + _tasks
    assert len({b["id"] for b in buckets}) == 12
    assert [re.search(r"offset=(\d+)", r).group(1) for r in client.requests] == ["0", "4", "8"]


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
