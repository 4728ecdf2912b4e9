"""mantis.datalayer.influx_onboarding against the InfluxDB v2 API test double."""

from __future__ import annotations

import pytest

from tests.support.ansible_runner import run_module

MODULE = "mantis.datalayer.influx_onboarding"


def args(double, **extra):
    base = dict(
        url=double.url, username="admin", password="correct-horse", org="mantis-org", bucket="sensors", retention="30d"
    )
    base.update(extra)
    return base


def test_onboarding_once_then_noop(fresh_influx):
    check = run_module(MODULE, args(fresh_influx), check=True, diff=True)
    assert check.changed and "operator_token" not in check.result
    assert fresh_influx.call("GET", "/api/v2/setup")[1] == {"allowed": True}

    first = run_module(MODULE, args(fresh_influx))
    assert first.changed and first.result["onboarded"], first.output
    token = first.result["operator_token"]
    assert token
    assert fresh_influx.call("GET", "/api/v2/setup")[1] == {"allowed": False}
    status, buckets = fresh_influx.call("GET", "/api/v2/buckets", token=token, query={"name": "sensors"})
    assert status == 200 and buckets["buckets"][0]["retentionRules"][0]["everySeconds"] == 30 * 86400

    second = run_module(MODULE, args(fresh_influx, org="other-org"))
    assert not second.changed and not second.failed and not second.result["onboarded"]
    assert "operator_token" not in second.result
    assert second.result["requests"] == ["GET /api/v2/setup"]
    assert token not in second.output


def test_chosen_token_is_used_and_never_returned(fresh_influx):
    chosen = "chosen-operator-token-0123456789"
    result = run_module(MODULE, args(fresh_influx, token=chosen))
    assert result.changed and "operator_token" not in result.result
    assert chosen not in result.output and "correct-horse" not in result.output
    assert fresh_influx.call("GET", "/api/v2/orgs", token=chosen)[0] == 200


@pytest.mark.parametrize("profile", ["2.9"])  # the module's input checks, the same for both releases
def test_bad_input(fresh_influx):
    short = run_module(MODULE, args(fresh_influx, password="short"))
    assert short.failed and short.result["msg"].startswith("password:")
    assert "short" not in short.result["msg"].replace("password:", "")
    bad = run_module(MODULE, args(fresh_influx, retention="a while"))
    assert bad.failed and bad.result["msg"].startswith("retention:")
    assert fresh_influx.call("GET", "/api/v2/setup")[1] == {"allowed": True}


@pytest.mark.parametrize(
    "change, parameter",
    [({"retention": "30m"}, "retention"), ({"password": "p" * 80}, "password")],
)
def test_what_the_server_would_refuse_is_refused_before_the_request(fresh_influx, change, parameter):
    """Issue 13, defect 4: a retention under an hour leaves the real server set up with no token
    (tenant/service_onboarding.go creates the user and org first); passwords are 8 to 72 bytes
    (tenant/service_user.go). The module sends nothing the server would refuse."""
    result = run_module(MODULE, args(fresh_influx, **change))
    assert result.failed and result.result["msg"].startswith(parameter + ":"), result.result["msg"]
    assert result.result["requests"] == ["GET /api/v2/setup"]
    assert fresh_influx.call("GET", "/api/v2/setup")[1] == {"allowed": True}


def test_set_up_server_needs_no_password(fresh_influx):
    fresh_influx.onboard("operator-token-0123456789")
    result = run_module(MODULE, args(fresh_influx, password=""))
    assert not result.failed and not result.changed, result.output
