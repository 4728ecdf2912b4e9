"""HTTP front of the InfluxDB v2 API test double: routing, the order of the checks, rendering.

Each endpoint takes its checks in the order the real handler and the service layers
under it take them (handler -> authorizing middleware -> storage -> tenant store), so
that a request failing two ways fails the way the server fails. The file each step
follows is named beside it (influxdata/influxdb, v2.7.11 and v2.9.1).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode, urlsplit

from . import flux, lineprotocol
from .profiles import profile_named
from .state import (
    RESOURCE_TYPES,
    ApiError,
    State,
    allows,
    bucket_read_permission,
    can_read_bucket,
    invalid,
    is_allowed,
    not_found,
    parse_id,
    permission_string,
    wanted,
)

LOG = logging.getLogger("influxdb_test_server")
DEFAULT_LIMIT = 20  # paging.go: DefaultPageSize
MAX_LIMIT = 100  # paging.go: MaxPageSize


class Raw:
    """A response body that is not JSON."""

    def __init__(self, content_type, text):
        self.content_type = content_type
        self.data = text.encode("utf-8")


# -- rendering ---------------------------------------------------------------
def render_org(org):
    """tenant/http_server_org.go: newOrgResponse."""
    base = "/api/v2/orgs/%s" % org["id"]
    return dict(
        id=org["id"],
        name=org["name"],
        description=org.get("description", ""),
        createdAt=org["createdAt"],
        updatedAt=org["updatedAt"],
        links=dict(
            self=base,
            logs=base + "/logs",
            members=base + "/members",
            owners=base + "/owners",
            secrets=base + "/secrets",
            labels=base + "/labels",
            buckets="/api/v2/buckets?org=%s" % org["name"],
            tasks="/api/v2/tasks?org=%s" % org["name"],
            dashboards="/api/v2/dashboards?org=%s" % org["name"],
        ),
    )


def render_bucket(bucket):
    """tenant/http_server_bucket.go: NewBucketResponse (no rule when neither duration is set)."""
    base = "/api/v2/buckets/%s" % bucket["id"]
    body = dict(id=bucket["id"], orgID=bucket["orgID"], type=bucket["type"])
    if bucket.get("description"):
        body["description"] = bucket["description"]  # `json:"description,omitempty"`
    body["name"] = bucket["name"]
    rules = []
    if bucket["everySeconds"] > 0 or bucket["shardGroupDurationSeconds"] > 0:
        rules.append(
            dict(
                type="expire",
                everySeconds=bucket["everySeconds"],
                shardGroupDurationSeconds=bucket["shardGroupDurationSeconds"],
            )
        )
    body.update(
        retentionRules=rules,
        createdAt=bucket["createdAt"],
        updatedAt=bucket["updatedAt"],
        links=dict(
            self=base,
            org="/api/v2/orgs/%s" % bucket["orgID"],
            members=base + "/members",
            owners=base + "/owners",
            labels=base + "/labels",
            write="/api/v2/write?org=%s&bucket=%s" % (bucket["orgID"], bucket["id"]),
        ),
        labels=[],
    )
    return body


def plain_permissions(permissions):
    return [dict(action=p["action"], resource=dict(p["resource"])) for p in permissions]


class Api:
    """The endpoints; each returns (status, payload) or raises ApiError."""

    def __init__(self, state):
        self.state = state
        self.profile = state.profile
        self.started = datetime.now(timezone.utc)
        self.requests = Counter()  # http_api_requests_total
        self.routes = [
            ("GET", r"/health", self.health, False),
            ("GET", r"/ping", self.ping, False),
            ("HEAD", r"/ping", self.ping, False),
            ("GET", r"/ready", self.ready, False),
            ("GET", r"/metrics", self.metrics, False),
            ("GET", r"/api/v2/setup", self.setup_allowed, False),
            ("POST", r"/api/v2/setup", self.setup, False),
            ("GET", r"/api/v2/orgs", self.list_orgs, True),
            ("POST", r"/api/v2/orgs", self.create_org, True),
            ("GET", r"/api/v2/orgs/(?P<id>[^/]+)", self.get_org, True),
            ("PATCH", r"/api/v2/orgs/(?P<id>[^/]+)", self.patch_org, True),
            ("DELETE", r"/api/v2/orgs/(?P<id>[^/]+)", self.delete_org, True),
            ("GET", r"/api/v2/buckets", self.list_buckets, True),
            ("POST", r"/api/v2/buckets", self.create_bucket, True),
            ("GET", r"/api/v2/buckets/(?P<id>[^/]+)", self.get_bucket, True),
            ("PATCH", r"/api/v2/buckets/(?P<id>[^/]+)", self.patch_bucket, True),
            ("DELETE", r"/api/v2/buckets/(?P<id>[^/]+)", self.delete_bucket, True),
            ("GET", r"/api/v2/authorizations", self.list_authorizations, True),
            ("POST", r"/api/v2/authorizations", self.create_authorization, True),
            ("GET", r"/api/v2/authorizations/(?P<id>[^/]+)", self.get_authorization, True),
            ("PATCH", r"/api/v2/authorizations/(?P<id>[^/]+)", self.patch_authorization, True),
            ("DELETE", r"/api/v2/authorizations/(?P<id>[^/]+)", self.delete_authorization, True),
            ("POST", r"/api/v2/write", self.write, True),
            ("POST", r"/api/v2/query", self.query, True),
        ]

    def dispatch(self, method, path, query, headers, body):
        allowed = []
        for route_method, pattern, handler, needs_token in self.routes:
            match = re.fullmatch(pattern, path)
            if not match:
                continue
            allowed.append(route_method)
            if route_method != method:
                continue
            with self.state.lock:
                auth = self.state.authenticate(headers.get("Authorization")) if needs_token else None
                try:
                    return handler(auth=auth, query=query, body=body, headers=headers, **match.groupdict())
                finally:
                    if method != "GET":
                        self.state.save()
        # http/router.go: notFoundHandler and methodNotAllowedHandler.
        if allowed:
            raise ApiError("method not allowed", "allow: %s" % ", ".join(allowed))
        raise not_found("path not found")

    # -- system (http/health.go, http/ready.go, http/handler.go) -----------------
    def health(self, **_):
        return 200, dict(
            name="influxdb",
            message="ready for queries and writes",
            status="pass",
            checks=[],
            version=self.profile.version,
            commit=self.profile.commit,
        )

    def ping(self, **_):
        return 204, None

    def ready(self, **_):
        up = datetime.now(timezone.utc) - self.started
        return 200, dict(
            status="ready", started=self.started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), up="%ds" % int(up.total_seconds())
        )

    def metrics(self, **_):
        """Prometheus text: prometheus/influx.go, bolt/metrics.go, http/handler.go (a few of the real names)."""
        data = self.state.data
        lines = [
            "# HELP influxdb_info Information about the influxdb environment.",
            "# TYPE influxdb_info gauge",
            'influxdb_info{arch="amd64",build_date="",commit="%s",cpus="2",os="linux",version="%s"} 1'
            % (self.profile.commit, self.profile.version),
            "# HELP influxdb_uptime_seconds influxdb process uptime in seconds",
            "# TYPE influxdb_uptime_seconds gauge",
            'influxdb_uptime_seconds{id="test-double"} %s'
            % repr((datetime.now(timezone.utc) - self.started).total_seconds()),
        ]
        for name, help_text, count in (
            ("influxdb_organizations_total", "Number of total organizations on the server", len(data["orgs"])),
            ("influxdb_buckets_total", "Number of total buckets on the server", len(data["buckets"])),
            ("influxdb_users_total", "Number of total users on the server", len(data["users"])),
            ("influxdb_tokens_total", "Number of total tokens on the server", len(data["authorizations"])),
        ):
            lines += ["# HELP %s %s" % (name, help_text), "# TYPE %s counter" % name, "%s %d" % (name, count)]
        lines += [
            "# HELP http_api_requests_total Number of http requests received",
            "# TYPE http_api_requests_total counter",
        ]
        for labels, count in sorted(self.requests.items()):
            rendered = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in labels)
            lines.append("http_api_requests_total{%s} %d" % (rendered, count))
        return 200, Raw("text/plain; version=0.0.4; charset=utf-8", "\n".join(lines) + "\n")

    def count_request(self, method, path, status, user_agent):
        """kit/transport/http/middleware.go: Metrics -- only 2XX and 5XX answers are counted."""
        if not (200 <= status <= 299 or 500 <= status <= 599):
            return
        normalised = "/".join(":id" if re.fullmatch(r"[0-9a-f]{16}", part) else part for part in path.split("/"))
        agent = (user_agent or "").split("/")[0].strip() or "unknown"
        labels = (
            ("handler", "platform"),
            ("method", method),
            ("path", normalised),
            ("response_code", str(status)),
            ("status", "%dXX" % (status // 100)),
            ("user_agent", agent),
        )
        self.requests[labels] += 1

    # -- onboarding (tenant/http_server_onboarding.go) ---------------------------
    def setup_allowed(self, **_):
        return 200, dict(allowed=self.state.onboarding_allowed())

    def setup(self, body, **_):
        user, org, bucket, auth, value = self.state.onboard(json_body(body))
        # The embedded influxdb.Authorization: `token` (omitempty from 2.9 on) and, in 2.9,
        # the `hashedToken` the store has just computed (auth.go).
        rendered = dict(id=auth["id"])
        rendered["token"] = value
        if self.profile.hashed_tokens:
            rendered["hashedToken"] = auth["hashedToken"]
        rendered.update(
            status=auth["status"],
            description=auth["description"],
            orgID=auth["orgID"],
            userID=auth["userID"],
            permissions=plain_permissions(auth["permissions"]),
            createdAt=auth["createdAt"],
            updatedAt=auth["updatedAt"],
            links=dict(self="/api/v2/authorizations/%s" % auth["id"], user="/api/v2/users/%s" % user["id"]),
        )
        return 201, dict(
            user=dict(
                links=dict(self="/api/v2/users/%s" % user["id"]), id=user["id"], name=user["name"], status="active"
            ),
            bucket=render_bucket(bucket),
            org=render_org(org),
            auth=rendered,
        )

    # -- organisations (tenant/http_server_org.go, middleware_org_auth.go) -------
    def list_orgs(self, auth, query, **_):
        offset, limit, _after, descending = find_options(query)
        org_id = query.get("orgID") if is_id(query.get("orgID")) else None  # an invalid orgID is ignored
        if org_id or query.get("org"):
            orgs = [self.state.org_by_id(org_id) if org_id else self.state.org_by_name(query["org"])]
        else:
            orgs = sorted(self.state.data["orgs"].values(), key=lambda o: o["id"], reverse=descending)
            if not allows(auth, wanted("read", "orgs")):
                orgs = [o for o in orgs if auth.get("userID") in o.get("owners", [])]
            orgs = orgs[offset : offset + limit]
        visible = [o for o in orgs if allows(auth, wanted("read", "orgs", rid=o["id"]))]
        return 200, dict(links=dict(self="/api/v2/orgs"), orgs=[render_org(o) for o in visible])

    def create_org(self, auth, body, **_):
        request = json_body(body)
        is_allowed(auth, wanted("write", "orgs"))
        org = self.state.create_org(request.get("name", ""), request.get("description", ""), auth.get("userID"))
        return 201, render_org(org)

    def get_org(self, auth, id, **_):
        org = self.state.org_by_id(parse_id(id))
        is_allowed(auth, wanted("read", "orgs", rid=id))
        return 200, render_org(org)

    def patch_org(self, auth, id, body, **_):
        org = self.state.org_by_id(parse_id(id))
        is_allowed(auth, wanted("write", "orgs", rid=id))
        request = json_body(body)
        if "name" in request and request["name"] != org["name"]:
            if any(o["name"] == request["name"] for o in self.state.data["orgs"].values()):
                raise ApiError("conflict", "organization with name %s already exists" % request["name"])
            org["name"] = request["name"]
        if request.get("description") is not None:
            org["description"] = request["description"]
        return 200, render_org(org)

    def delete_org(self, auth, id, **_):
        self.state.org_by_id(parse_id(id))
        is_allowed(auth, wanted("write", "orgs", rid=id))
        self.state.delete_org(id)
        return 204, None

    # -- buckets (tenant/http_server_bucket.go, middleware_bucket_auth.go) -------
    def list_buckets(self, auth, query, **_):
        offset, limit, after, descending = find_options(query)
        org_id = parse_id(query["orgID"]) if query.get("orgID") else None
        bucket_id = parse_id(query["id"]) if query.get("id") else None
        name = query.get("name") or None
        # tenant/service_bucket.go: FindBuckets.
        if bucket_id:
            found = [self.state.bucket_by_id(bucket_id)]
        else:
            if org_id is None and query.get("org"):
                org_id = self.state.org_by_name(query["org"])["id"]
            if name is not None and org_id is not None:
                found = [self.state.bucket_by_name(org_id, name)]
            else:
                found = self.state.list_buckets(org_id, name, offset, limit, after, descending)
        # authorizer/authorize_find.go: AuthorizeFindBuckets, after the page was read.
        visible = [b for b in found if can_read_bucket(auth, b)]
        return 200, dict(
            links=paging_links("/api/v2/buckets", query, offset, limit, after, descending, len(visible)),
            buckets=[render_bucket(b) for b in visible],
        )

    def create_bucket(self, auth, body, **_):
        request = json_body(body)
        rules = request.get("retentionRules") or []
        # postBucketRequest.OK
        org_id = request.get("orgID") or ""
        if not org_id:
            raise invalid("organization id must be provided")
        parse_id(org_id)
        every, shard = check_rules(rules)
        is_allowed(auth, wanted("write", "buckets", org_id))  # AuthorizeCreate
        bucket = self.state.create_bucket(
            org_id, request.get("name", ""), request.get("description", ""), every or 0, shard or 0
        )
        return 201, render_bucket(bucket)

    def get_bucket(self, auth, id, **_):
        bucket = self.state.bucket_by_id(parse_id(id))
        is_allowed(auth, bucket_read_permission(bucket))
        return 200, render_bucket(bucket)

    def patch_bucket(self, auth, id, body, **_):
        parse_id(id)
        request = json_body(body)
        every, shard = check_rules(request.get("retentionRules") or [], update=True)
        if request.get("name") is not None:
            # handlePatchBucket reads the bucket (with read permission) before a rename.
            self.get_bucket(auth=auth, id=id)
        bucket = self.state.bucket_by_id(id)
        is_allowed(auth, wanted("write", "buckets", bucket["orgID"], id))
        updated = self.state.update_bucket(id, request.get("name"), request.get("description"), every, shard)
        return 200, render_bucket(updated)

    def delete_bucket(self, auth, id, **_):
        bucket = self.state.bucket_by_id(parse_id(id))
        is_allowed(auth, wanted("write", "buckets", bucket["orgID"], id))
        self.state.delete_bucket(id)
        return 204, None

    # -- authorizations (authorization/http_server.go, middleware_auth.go) -------
    def render_authorization(self, auth, value=None):
        """authResponse: `token` is the value in 2.7; in 2.9 only the creating response has it."""
        org = self.state.org_by_id(auth["orgID"])
        user = self.state.user_by_id(auth.get("userID"))
        return dict(
            id=auth["id"],
            token=value if value is not None else auth.get("token") or "",
            status=auth["status"],
            description=auth["description"],
            orgID=auth["orgID"],
            org=org["name"],
            userID=auth["userID"],
            user=user["name"],
            permissions=self.named_permissions(auth["permissions"]),
            links=dict(self="/api/v2/authorizations/%s" % auth["id"], user="/api/v2/users/%s" % auth["userID"]),
            createdAt=auth["createdAt"],
            updatedAt=auth["updatedAt"],
        )

    def named_permissions(self, permissions):
        """newPermissionsResponse: names of the resource and its org; a missing one leaves both out."""
        result = []
        for permission in permissions:
            resource = dict(permission["resource"])
            result.append(dict(action=permission["action"], resource=resource))
            try:
                if resource.get("id"):
                    name = self.resource_name(resource["type"], resource["id"])
                    if name:
                        resource["name"] = name
                if resource.get("orgID"):
                    resource["org"] = self.state.org_by_id(resource["orgID"])["name"]
            except ApiError:
                continue
        return result

    def resource_name(self, rtype, rid):
        if rtype == "buckets":
            return self.state.bucket_by_id(rid)["name"]
        if rtype == "orgs":
            return self.state.org_by_id(rid)["name"]
        if rtype == "users":
            return self.state.user_by_id(rid)["name"]
        return ""

    def list_authorizations(self, auth, query, **_):
        user_id = parse_id(query["userID"]) if query.get("userID") else None
        org_id = parse_id(query["orgID"]) if query.get("orgID") else None
        auth_id = parse_id(query["id"]) if query.get("id") else None
        if user_id is None and query.get("user"):
            user_id = self.state.user_by_name(query["user"])["id"]
        if org_id is None and query.get("org"):
            org_id = self.state.org_by_name(query["org"])["id"]
        # The `token` filter of the API description is not read by the handler: ignored.
        found = self.state.list_authorizations(org_id, user_id, auth_id)
        # authorizer/authorize_find.go: AuthorizeFindAuthorizations needs read on the token and on its user.
        visible = [
            a
            for a in found
            if allows(auth, wanted("read", "authorizations", a["orgID"], a["id"]))
            and allows(auth, wanted("read", "users", rid=a.get("userID")))
        ]
        rendered = []
        for item in visible:
            try:
                rendered.append(self.render_authorization(item))
            except ApiError:
                continue  # the org or user is gone: skipped, as handleGetAuthorizations does
        return 200, dict(links=dict(self="/api/v2/authorizations"), authorizations=rendered)

    def create_authorization(self, auth, body, **_):
        try:
            request = json.loads(body or b"{}")
        except ValueError as exc:
            raise invalid("invalid json structure: %s" % exc) from None
        # postAuthorizationRequest.Validate
        permissions = request.get("permissions") or []
        if not permissions:
            raise invalid("authorization must include permissions")
        for permission in permissions:
            resource = permission.get("resource") or {}
            if resource.get("type") not in RESOURCE_TYPES:
                raise invalid("invalid resource type for permission: unknown resource type")
            if permission.get("action") not in ("read", "write"):
                raise invalid("invalid action type for permission: unknown action type")
            for key in ("orgID", "id"):
                if resource.get(key):
                    try:
                        parse_id(resource[key])
                    except ApiError:
                        raise invalid(
                            "invalid %s for permission: invalid ID" % ("org id" if key == "orgID" else "id")
                        ) from None
        org_id = request.get("orgID") or ""
        try:
            parse_id(org_id)
        except ApiError:
            raise invalid("org id required: invalid ID") from None
        status = request.get("status") or "active"
        # getAuthorizedUser: the new token belongs to the caller's user unless userID says otherwise.
        try:
            caller = self.state.user_by_id(auth.get("userID"))
        except ApiError:
            raise invalid("unable to create token") from None
        user_id = request.get("userID") or caller["id"]
        # authorization/middleware_auth.go: CreateAuthorization.
        is_allowed(auth, wanted("write", "authorizations", org_id))
        is_allowed(auth, wanted("write", "users", rid=user_id))
        for permission in permissions:
            # authorizer/auth.go: VerifyPermissions -- a token grants only what it holds.
            try:
                is_allowed(auth, permission)
            except ApiError as exc:
                raise ApiError(
                    "forbidden",
                    "permission %s is not allowed: %s" % (permission_string(permission), exc.body["message"]),
                ) from None
        if any(p["resource"]["type"] == "instance" for p in permissions):
            raise ApiError(
                "internal error",
                "authorizations cannot be created with the instance type, it is only used during setup",
            )
        # authorization/service.go: CreateAuthorization (auth.go: Valid).
        for permission in permissions:
            if permission["resource"].get("orgID") and permission["resource"]["orgID"] != org_id:
                raise invalid("permission %s is not for org id %s" % (permission_string(permission), org_id))
        try:
            self.state.user_by_id(user_id)
            self.state.org_by_id(org_id)
        except ApiError:
            raise invalid("unable to create token") from None
        plain = [dict(action=p["action"], resource=clean_resource(p["resource"])) for p in permissions]
        created, value = self.state.create_authorization(org_id, user_id, request.get("description", ""), plain, status)
        return 201, self.render_authorization(created, value)

    def readable_authorization(self, auth, auth_id):
        found = self.state.authorization_by_id(parse_id(auth_id))
        is_allowed(auth, wanted("read", "authorizations", found["orgID"], found["id"]))
        is_allowed(auth, wanted("read", "users", rid=found.get("userID")))
        return found

    def get_authorization(self, auth, id, **_):
        return 200, self.render_authorization(self.readable_authorization(auth, id))

    def patch_authorization(self, auth, id, body, **_):
        parse_id(id)
        request = json_body(body)
        found = self.readable_authorization(auth, id)
        is_allowed(auth, wanted("write", "authorizations", found["orgID"], found["id"]))
        is_allowed(auth, wanted("write", "users", rid=found.get("userID")))
        if request.get("status") is not None:
            if request["status"] not in ("active", "inactive"):
                raise invalid("encodeAuthorization: unknown authorization status")
            found["status"] = request["status"]
        if request.get("description") is not None:
            found["description"] = request["description"]
        found["updatedAt"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return 200, self.render_authorization(found)

    def delete_authorization(self, auth, id, **_):
        found = self.state.authorization_by_id(parse_id(id))
        is_allowed(auth, wanted("write", "authorizations", found["orgID"], found["id"]))
        is_allowed(auth, wanted("write", "users", rid=found.get("userID")))
        del self.state.data["authorizations"][id]
        return 204, None

    # -- data (http/write_handler.go, http/query_handler.go, http/query.go) ------
    def write(self, auth, query, body, headers, **_):
        precision = query.get("precision") or "ns"
        if precision not in lineprotocol.PRECISION_NS:
            raise invalid("invalid precision; valid precision units are ns, us, ms, and s")
        if not query.get("bucket"):
            raise not_found("bucket not found")
        if (headers.get("Content-Encoding") or "").lower() == "gzip":
            body = gzip.decompress(body)
        org = self.state.find_org(query.get("org"), query.get("orgID"))
        bucket = self.find_bucket(org["id"], query["bucket"])
        # checkBucketWritePermissions: 403, also for an inactive token.
        try:
            is_allowed(auth, wanted("write", "buckets", org["id"], bucket["id"]))
        except ApiError:
            raise ApiError("forbidden", "insufficient permissions for write") from None
        try:
            points = lineprotocol.parse(body.decode("utf-8", "replace"), precision)
        except lineprotocol.LineProtocolError as exc:
            raise invalid(str(exc)) from None
        self.state.write_points(bucket["id"], points, time.time_ns())
        return 204, None

    def find_bucket(self, org_id, reference):
        """WriteHandler.findBucket: an ID first, then a name in the organisation."""
        if len(reference) == 16:
            bucket = self.state.data["buckets"].get(reference)
            if bucket is not None:
                return bucket
        return self.state.bucket_by_name(org_id, reference)

    def query(self, auth, query, body, headers, **_):
        try:
            request, org = self.decode_query(query, body, headers)
        except ApiError as exc:
            # handleQuery wraps every decoding error: 400 whatever the inner code.
            raise invalid("failed to decode request body: %s" % exc.body["message"]) from None
        try:
            parsed = flux.Query(request["query"], now_ns=request.get("now_ns"))
        except flux.FluxError as exc:
            raise invalid(str(exc)) from None
        # query/dependency.go BucketLookup over authorizer.NewBucketService: a bucket the token
        # cannot read is "not found" (query/control/controller.go maps the flux error to 404).
        bucket = None
        if parsed.bucket is not None:
            try:
                bucket = self.state.bucket_by_name(org["id"], parsed.bucket)
            except ApiError:
                bucket = None
        else:
            bucket = self.state.data["buckets"].get(parsed.bucket_id)
        if bucket is None or not can_read_bucket(auth, bucket):
            raise not_found(
                'failed to initialize execute state: could not find bucket "%s"' % (parsed.bucket or parsed.bucket_id)
            )
        rows = parsed.rows(self.state.points_of(bucket["id"]))
        dialect = request.get("dialect") or {}
        annotations = dialect.get("annotations") or []
        text = flux.annotated_csv(
            rows, parsed.start, parsed.stop, annotations, dialect.get("header", True) is not False
        )
        return 200, Raw("text/csv; charset=utf-8", text)

    def decode_query(self, query, body, headers):
        """http/query.go: decodeQueryRequest, WithDefaults and Validate."""
        content_type = (headers.get("Content-Type") or "application/json").split(";")[0].strip()
        if content_type == "application/vnd.flux":
            request = {"query": body.decode("utf-8")}
        else:
            try:
                request = json.loads(body or b"null")
            except ValueError as exc:
                raise invalid(
                    "failed parsing request body as JSON; if sending a raw Flux script, set 'Content-Type: "
                    "application/vnd.flux' in your request headers: %s" % exc
                ) from None
            if not isinstance(request, dict):
                raise invalid("failed parsing request body as JSON")
        request.setdefault("type", "flux")
        dialect = request.get("dialect") or {}
        if not request.get("query") and not request.get("ast"):
            raise invalid("request body requires either query or AST")
        if request["type"] != "flux":
            raise invalid("unknown query type: %s" % request["type"])
        if len(dialect.get("commentPrefix") or "") > 1:
            raise invalid("invalid dialect comment prefix: must be length 0 or 1")
        if len(dialect.get("delimiter") or ",") != 1:
            raise invalid("invalid dialect delimeter: must be length 1")
        for annotation in dialect.get("annotations") or []:
            if annotation not in ("group", "datatype", "default"):
                raise invalid("unknown dialect annotation type: %s" % annotation)
        if (dialect.get("dateTimeFormat") or "RFC3339") not in ("RFC3339", "RFC3339Nano"):
            raise invalid("unknown dialect date time format: %s" % dialect["dateTimeFormat"])
        if not request.get("query"):
            raise invalid("test double: queries given as an AST are not supported")
        extern = request.get("extern") or {}
        if extern.get("body") or extern.get("imports"):
            raise invalid("test double: extern options (query parameters) are not supported")
        if request.get("now"):
            request["now_ns"] = flux.time_ns(request["now"])
        return request, self.state.find_org(query.get("org"), query.get("orgID"))


def is_id(text):
    try:
        parse_id(text)
    except ApiError:
        return False
    return True


def clean_resource(resource):
    return {k: resource[k] for k in ("type", "id", "orgID") if resource.get(k)}


def check_rules(rules, update=False):
    """postBucketRequest.OK / bucketUpdate.OK: one rule at most, no negative durations."""
    if len(rules) > 1:
        raise ApiError("unprocessable entity", "buckets cannot have more than one retention rule at this time")
    if not rules:
        return (None, None) if update else (0, 0)
    rule = rules[0]
    every, shard = rule.get("everySeconds"), rule.get("shardGroupDurationSeconds")
    if every is not None and every < 0:
        raise ApiError("unprocessable entity", "expiration seconds cannot be negative")
    if shard is not None and shard < 0:
        raise ApiError("unprocessable entity", "shard-group duration seconds cannot be negative")
    if update:
        return every, shard
    return every or 0, shard or 0


def find_options(query):
    """paging.go: DecodeFindOptions."""
    try:
        offset = int(query.get("offset") or 0)
    except ValueError:
        raise invalid("offset is invalid") from None
    after = None
    if query.get("after"):
        try:
            after = parse_id(query["after"])
        except ApiError as exc:
            raise invalid("decoding after: %s" % exc.body["message"]) from None
    limit = DEFAULT_LIMIT
    if query.get("limit"):
        try:
            limit = int(query["limit"])
        except ValueError:
            raise invalid("limit is invalid") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise invalid("limit must be between 1 and %d" % MAX_LIMIT)
    descending = False
    if query.get("descending"):
        if query["descending"].lower() not in ("true", "false", "1", "0", "t", "f"):
            raise invalid("descending is invalid")
        descending = query["descending"].lower() in ("true", "1", "t")
    return offset, limit, after, descending


def paging_links(base, query, offset, limit, after, descending, count):
    """paging.go: NewPagingLinks -- `next` whenever the page is full, `prev` after the first page."""
    values = {"descending": "true" if descending else "false", "offset": str(offset), "limit": str(limit)}
    if after:
        values["after"] = after
    for param, key in (("id", "id"), ("name", "bucket"), ("orgID", "orgID"), ("org", "org")):
        if query.get(param):
            values[key] = query[param]
    links = {"self": "%s?%s" % (base, urlencode(sorted(values.items())))}
    if count >= limit:
        links["next"] = "%s?%s" % (base, urlencode(sorted(dict(values, offset=str(offset + limit)).items())))
    if offset > 0:
        links["prev"] = "%s?%s" % (base, urlencode(sorted(dict(values, offset=str(max(0, offset - limit))).items())))
    return links


def json_body(body):
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        # kit/transport/http/api.go: the API's unmarshal error.
        raise invalid("failed to unmarshal json: %s" % exc) from None
    if not isinstance(value, dict):
        raise invalid("failed to unmarshal json: not an object")
    return value


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        LOG.info("%s %s", self.address_string(), fmt % args)

    def version_string(self):
        return "InfluxDB-test-double/" + self.server.app.profile.version

    def _handle(self):
        app = self.server.app
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = dict(self.headers.items())
        content_type = self.headers.get("Content-Type", "")
        host_url = "http://%s:%d" % self.server.server_address[:2]
        request_record = (host_url, self.command.lower(), parts.path, query, headers, body, content_type)
        try:
            if app.contract is not None:
                try:
                    app.contract.check_request(*request_record)
                except app.contract_error as exc:
                    app.rejected.append("%s %s: %s" % (self.command, parts.path, exc))
                    raise invalid("request does not match the InfluxDB v2 API: %s" % exc) from None
            status, payload = app.api.dispatch(self.command, parts.path, query, headers, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body
        except Exception as exc:  # a bug in the test double must show, not hang the client
            LOG.exception("internal error")
            status, payload = 500, dict(code="internal error", message="test double: %s" % exc)
        if isinstance(payload, Raw):
            data, response_type = payload.data, payload.content_type
        else:
            data = json.dumps(payload).encode() if payload is not None else b""
            response_type = "application/json; charset=utf-8" if payload is not None else ""
        if app.contract is not None:
            try:
                app.contract.check_response(*request_record, status, data, response_type.split(";", maxsplit=1)[0])
            except app.contract_error as exc:
                # The test double broke the contract: answer 500 so the test that caused it fails.
                app.violations.append("%s %s -> %d: %s" % (self.command, parts.path, status, exc))
                status, data = (
                    500,
                    json.dumps(
                        dict(code="internal error", message="test double response violates the API: %s" % exc)
                    ).encode(),
                )
                response_type = "application/json; charset=utf-8"
        app.api.count_request(self.command, parts.path, status, self.headers.get("User-Agent"))
        self.send_response(status)
        if response_type:
            self.send_header("Content-Type", response_type)
        if status >= 400 and isinstance(payload, dict) and payload.get("code"):
            self.send_header("X-Platform-Error-Code", payload["code"])
        self.send_header("Content-Length", str(len(data)))
        # http/handler.go: every answer names the build and the version.
        self.send_header("X-Influxdb-Build", "OSS")
        self.send_header("X-Influxdb-Version", app.profile.version)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = do_PUT = _handle


class App:
    """State + endpoints + (optional) contract validation, shared by all request threads."""

    def __init__(self, state_file=None, contract=None, profile=None):
        from .contract import ContractViolation

        self.profile = profile_named(profile)
        self.state = State(state_file, self.profile)
        self.api = Api(self.state)
        self.contract = contract
        self.contract_error = ContractViolation
        self.violations = []  # responses of the test double that broke the contract (a bug here)
        self.rejected = []  # requests rejected because they broke the contract (a bug in the client)


def make_server(host, port, app):
    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    httpd.app = app
    return httpd


def serve_in_thread(httpd):
    # A short poll interval: shutdown() waits for the next poll, once per test.
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs=dict(poll_interval=0.05), name="influxdb-test-double", daemon=True
    )
    thread.start()
    return thread
