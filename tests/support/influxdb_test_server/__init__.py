"""InfluxDB v2 API test double for the mantis.datalayer tests.

This is a TEST DOUBLE, not InfluxDB: no InfluxDB 2 server package is reachable from
this project's CI, so the collection's InfluxDB modules and role are tested against
this small stand-in. It implements the endpoints the collection, its verification
and the official ``influxdb-client`` use (``/health``, ``/ping``, ``/ready``,
``/metrics``, ``/api/v2/setup``, orgs, buckets, authorizations, ``/api/v2/write``
and the ``from |> range |> filter`` subset of Flux on ``/api/v2/query``). Its answers
come from the real server's source (influxdata/influxdb v2.7.11 and v2.9.1; each
behaviour, the file it follows and its test are listed in README.md), and every
request and response is checked against InfluxData's published API description
(``contract.py``).

Two profiles, chosen at start-up: ``2.7`` (tokens readable in every read) and ``2.9``
(the current release: tokens stored hashed, readable only when created); see
``profiles.py``.

Use it in pytest::

    with InfluxDBTestDouble(profile="2.9") as influx:
        influx.url          # http://127.0.0.1:<free port>
        influx.call("GET", "/api/v2/buckets", token=...)

or as a process (the Molecule scenario and the demo run it as a systemd service)::

    python -m tests.support.influxdb_test_server --profile 2.9 --port 8086 --state-file /var/lib/x.json
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

from .contract import Contract, default_spec_path
from .profiles import DEFAULT_PROFILE, PROFILES
from .server import App, make_server, serve_in_thread

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Contract", "InfluxDBTestDouble", "default_spec_path", "free_port"]

_CONTRACT = None


def shared_contract():
    """The API description, loaded once per test process (loading takes about a second)."""
    global _CONTRACT
    if _CONTRACT is None:
        _CONTRACT = Contract()
    return _CONTRACT


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class InfluxDBTestDouble:
    """The test double on a free loopback port in a background thread of the test process."""

    def __init__(self, state_file=None, validate=True, profile=DEFAULT_PROFILE):
        self.app = App(state_file=state_file, contract=shared_contract() if validate else None, profile=profile)
        self.profile = self.app.profile
        self.httpd = make_server("127.0.0.1", free_port(), self.app)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = None

    def __enter__(self):
        self.thread = serve_in_thread(self.httpd)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def violations(self):
        """Responses of the test double that broke the API contract (must stay empty)."""
        return self.app.violations

    @property
    def rejected(self):
        """Requests rejected because they broke the API contract."""
        return self.app.rejected

    def call(self, method, path, token=None, body=None, query=None, content_type="application/json", headers=None):
        """One HTTP request to the test double; returns (status, decoded JSON body, text, or None)."""
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None
        headers = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type
        if token:
            headers["Authorization"] = "Token " + token
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        if not raw:
            return status, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode("utf-8")

    def onboard(self, token, org="mantis-org", bucket="onboarding", username="admin", password="correct-horse"):
        status, body = self.call(
            "POST",
            "/api/v2/setup",
            body=dict(username=username, password=password, org=org, bucket=bucket, token=token),
        )
        if status != 201:
            raise AssertionError("onboarding the test double failed: %s %s" % (status, body))
        return body
