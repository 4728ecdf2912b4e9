# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection, argument spec and request recording shared by the InfluxDB 2 modules.

Modules follow read -> plan -> apply: they read with :meth:`InfluxDBClient.read`
(always executed, also in check mode) and change with :meth:`InfluxDBClient.change`,
which records the call and sends it only outside check mode. Every call made or
planned is recorded in ``requests`` as ``METHOD /path?query`` -- never a token.

What the server does is taken from its source (influxdata/influxdb, v2.7.11 and
v2.9.1); the file is named where a rule here depends on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode
from ansible.module_utils.urls import open_url

HOUR = 3600
DAY = 86400

# Resource types a token permission can name (the Resource schema of the v2 API).
RESOURCE_TYPES = (
    "authorizations",
    "buckets",
    "dashboards",
    "orgs",
    "tasks",
    "telegrafs",
    "users",
    "variables",
    "secrets",
    "labels",
    "views",
    "documents",
    "notificationRules",
    "notificationEndpoints",
    "checks",
    "dbrp",
    "annotations",
    "sources",
    "scrapers",
    "notebooks",
)


def influxdb_argument_spec():
    """Connection options shared by every InfluxDB module (documented in doc_fragments/influxdb.py)."""
    return dict(
        url=dict(type="str", default="http://127.0.0.1:8086"),
        token=dict(type="str", no_log=True),
        org=dict(type="str"),
        validate_certs=dict(type="bool", default=True),
        ca_path=dict(type="path"),
        timeout=dict(type="int", default=10),
    )


class InfluxDBError(Exception):
    """A failed API call; ``status`` is the HTTP status (None when the server was not reached)."""

    def __init__(self, message, status=None, body=None):
        super(InfluxDBError, self).__init__(message)
        self.status = status
        self.body = body or {}


def default_shard_group_duration(retention_seconds):
    """The shard-group duration the server picks for a retention (v1/services/meta/data.go: shardGroupDuration)."""
    if retention_seconds == 0 or retention_seconds >= 180 * DAY:
        return 7 * DAY
    if retention_seconds >= 2 * DAY:
        return DAY
    return HOUR


def normalised_shard_group_duration(shard_seconds, retention_seconds):
    """The shard-group duration the server stores for a requested one (NormalisedShardDuration).

    0 means "the server's default for the retention"; anything under one hour becomes one hour.
    """
    if not shard_seconds:
        return default_shard_group_duration(retention_seconds)
    if shard_seconds < HOUR:
        return HOUR
    return shard_seconds


def permission_key(permission):
    """A comparable form of an API permission: (action, type, id, orgID); names are ignored."""
    resource = permission.get("resource") or {}
    return (permission.get("action"), resource.get("type"), resource.get("id") or "", resource.get("orgID") or "")


class InfluxDBClient:
    """HTTP calls to one InfluxDB 2 server with the module's connection options."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.url = (self.params["url"] or "").rstrip("/")
        self.requests = []

    # -- transport -----------------------------------------------------------
    def call(self, method, path, query=None, body=None, authenticated=True, record=True):
        """Send one request; return the decoded JSON body (None when empty). Raises InfluxDBError."""
        target = path + ("?" + urlencode(sorted(query.items())) if query else "")
        if record:
            self.requests.append("%s %s" % (method, target))
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        if authenticated:
            if not self.params.get("token"):
                raise InfluxDBError("token is required to call %s %s on %s" % (method, path, self.url))
            headers["Authorization"] = "Token %s" % self.params["token"]
        try:
            response = open_url(
                self.url + target,
                data=data,
                headers=headers,
                method=method,
                validate_certs=self.params["validate_certs"],
                ca_path=self.params.get("ca_path"),
                timeout=self.params["timeout"],
                follow_redirects="safe",
                use_proxy=True,
            )
            raw = response.read()
        except HTTPError as exc:
            raise self._http_error(method, path, exc) from None
        except URLError as exc:
            raise InfluxDBError(
                "cannot reach the InfluxDB server at %s: %s" % (self.url, getattr(exc, "reason", exc))
            ) from None
        except (OSError, ValueError) as exc:
            raise InfluxDBError("cannot reach the InfluxDB server at %s: %s" % (self.url, exc)) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise InfluxDBError("%s %s on %s did not return JSON" % (method, path, self.url)) from None

    def _http_error(self, method, path, exc):
        try:
            body = json.loads(exc.read() or b"{}")
        except (ValueError, AttributeError):
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("message") or exc.reason
        if exc.code == 401:
            message = (
                "InfluxDB at %s rejected the token (401 unauthorized: %s) for %s %s; check the token option "
                "and its permissions" % (self.url, detail, method, path)
            )
        else:
            message = "%s %s on %s failed with HTTP %d: %s" % (method, path, self.url, exc.code, detail)
        return InfluxDBError(message, status=exc.code, body=body)

    def read(self, path, query=None, authenticated=True):
        """A read: always sent, also in check mode."""
        return self.call("GET", path, query=query, authenticated=authenticated)

    def change(self, method, path, body=None, query=None, needs=None):
        """A change: recorded, and sent only outside check mode (returns None in check mode).

        ``needs`` says which permissions the calling token must hold for the change; when the
        server refuses the token (401 or 403) the error names them.
        """
        if self.module.check_mode:
            target = path + ("?" + urlencode(sorted(query.items())) if query else "")
            self.requests.append("%s %s" % (method, target))
            return None
        try:
            return self.call(method, path, query=query, body=body)
        except InfluxDBError as exc:
            if needs and exc.status in (401, 403):
                raise InfluxDBError(
                    "token: InfluxDB at %s refused %s %s (HTTP %d: %s). The token in the token option needs %s."
                    % (self.url, method, path, exc.status, exc.body.get("message") or "", needs),
                    status=exc.status,
                    body=exc.body,
                ) from None
            raise

    # -- lookups -------------------------------------------------------------
    def find_org(self, name):
        """The organisation called ``name`` (a 404 from the name filter means none), or None."""
        try:
            orgs = (self.read("/api/v2/orgs", {"org": name}) or {}).get("orgs") or []
        except InfluxDBError as exc:
            if exc.status != 404:
                raise
            orgs = []
        return next((org for org in orgs if org.get("name") == name), None)

    def org_id(self, name=None):
        """The ID of organisation ``name`` (default: the org option), or a clear error."""
        name = name or self.params.get("org")
        if not name:
            raise InfluxDBError("org is required: the name of the organization")
        org = self.find_org(name)
        if org is None:
            raise InfluxDBError(
                "org: organization %r not found on %s (or the token may not read it)" % (name, self.url), status=404
            )
        return org["id"]

    def find_bucket(self, org_id, name):
        """The bucket called ``name`` in the organisation, or None.

        With ``orgID`` and ``name`` the server looks the bucket up by name and answers 404 when
        there is none (tenant/service_bucket.go, FindBuckets); a bucket the token may not read is
        left out of a 200 answer (authorizer/authorize_find.go). Both mean "not found" here.
        """
        try:
            answer = self.read("/api/v2/buckets", {"orgID": org_id, "name": name}) or {}
        except InfluxDBError as exc:
            if exc.status != 404:
                raise
            return None
        for bucket in answer.get("buckets") or []:
            if bucket.get("name") == name and bucket.get("orgID") == org_id:
                return bucket
        return None

    def exit(self, changed, before, after, **result):
        """Finish the module: ``changed``, ``requests``, the other results, and ``diff`` in diff mode."""
        result.update(changed=changed, requests=self.requests)
        if self.module._diff:
            result["diff"] = dict(before=before, after=after)
        self.module.exit_json(**result)

    def fail(self, exc, **result):
        result.setdefault("requests", self.requests)
        self.module.fail_json(msg=str(exc), **result)
