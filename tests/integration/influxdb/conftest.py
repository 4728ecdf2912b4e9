"""A fresh, onboarded InfluxDB v2 API test double on a loopback port for each test.

Every test runs twice: against the 2.7 profile (InfluxDB v2.7.11, token values readable)
and against the 2.9 profile (v2.9.1, the current release: tokens stored hashed).
"""

from __future__ import annotations

import secrets

import pytest

from tests.support.influxdb_test_server import PROFILES, InfluxDBTestDouble


class Influx:
    def __init__(self, double, operator_token):
        self.double = double
        self.url = double.url
        self.profile = double.profile
        self.operator_token = operator_token

    def connection(self, **extra):
        return dict(url=self.url, token=self.operator_token, org="mantis-org", **extra)

    def call(self, method, path, **kwargs):
        kwargs.setdefault("token", self.operator_token)
        return self.double.call(method, path, **kwargs)

    def org_id(self, org="mantis-org"):
        status, body = self.call("GET", "/api/v2/orgs", query={"org": org})
        assert status == 200, body
        return body["orgs"][0]["id"]

    def buckets(self, org="mantis-org"):
        status, body = self.call("GET", "/api/v2/buckets", query={"org": org, "limit": 100})
        assert status == 200, body
        return {b["name"]: b for b in body["buckets"]}

    def authorizations(self):
        status, body = self.call("GET", "/api/v2/authorizations", query={"org": "mantis-org"})
        assert status == 200, body
        return {a["description"]: a for a in body["authorizations"]}


@pytest.fixture(params=sorted(PROFILES))
def profile(request):
    return request.param


@pytest.fixture
def fresh_influx(profile):
    with InfluxDBTestDouble(profile=profile) as double:
        yield double
        assert double.violations == [], "the test double broke the API contract"
        assert double.rejected == [], "a module sent a request that breaks the InfluxDB v2 API contract"


@pytest.fixture
def influx(fresh_influx):
    token = "operator-" + secrets.token_hex(16)
    fresh_influx.onboard(token, org="mantis-org", bucket="onboarding")
    return Influx(fresh_influx, token)
