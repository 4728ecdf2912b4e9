"""HTTP front of the InfluxDB v2 API test double: routing, token checks, JSON rendering."""

from __future__ import annotations

import json
import logging
import re
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .state import ApiError, State, permissions_cover

LOG = logging.getLogger("influxdb_test_server")
VERSION = "v2.7.11"  # the OSS release whose behaviour the test double follows
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def render_org(org):
    base = "/api/v2/orgs/%s" % org["id"]
    return dict(
        id=org["id"],
        name=org["name"],
        description=org.get("description", ""),
        createdAt=org["createdAt"],
        updatedAt=org["updatedAt"],
        links=dict(
            self=base,
            buckets="/api/v2/buckets?org=%s" % org["name"],
            members=base + "/members",
            owners=base + "/owners",
            labels=base + "/labels",
            secrets=base + "/secrets",
            tasks="/api/v2/tasks?org=%s" % org["name"],
            dashboards="/api/v2/dashboards?org=%s" % org["name"],
        ),
    )


def render_bucket(bucket):
    base = "/api/v2/buckets/%s" % bucket["id"]
    return dict(
        id=bucket["id"],
        orgID=bucket["orgID"],
        type=bucket["type"],
        name=bucket["name"],
        description=bucket["description"],
        schemaType="implicit",
        retentionRules=[
            dict(
                type="expire",
                everySeconds=bucket["everySeconds"],
                shardGroupDurationSeconds=bucket["shardGroupDurationSeconds"],
            )
        ],
        createdAt=bucket["createdAt"],
        updatedAt=bucket["updatedAt"],
        labels=[],
        links=dict(
            self=base,
            org="/api/v2/orgs/%s" % bucket["orgID"],
            labels=base + "/labels",
            members=base + "/members",
            owners=base + "/owners",
            write="/api/v2/write?org=%s&bucket=%s" % (bucket["orgID"], bucket["id"]),
        ),
    )


def render_authorization(state, auth, with_token=False):
    org = state.data["orgs"].get(auth["orgID"], {})
    user = state.data["users"].get(auth.get("userID") or "", {})
    body = dict(
        id=auth["id"],
        status=auth["status"],
        description=auth["description"],
        orgID=auth["orgID"],
        org=org.get("name", ""),
        permissions=auth["permissions"],
        createdAt=auth["createdAt"],
        updatedAt=auth["updatedAt"],
        links=dict(self="/api/v2/authorizations/%s" % auth["id"]),
    )
    if user:
        body.update(userID=user["id"], user=user["name"])
        body["links"]["user"] = "/api/v2/users/%s" % user["id"]
    if with_token:
        # Like recent servers: the token value is shown once, when it is created.
        body["token"] = auth["token"]
    return body


def named_permissions(state, permissions):
    """Fill in resource names and org names the way the server echoes permissions back."""
    result = []
    for permission in permissions:
        resource = dict(permission["resource"])
        if resource.get("orgID") and resource["orgID"] in state.data["orgs"]:
            resource["org"] = state.data["orgs"][resource["orgID"]]["name"]
        if resource["type"] == "buckets" and resource.get("id"):
            bucket = state.data["buckets"].get(resource["id"])
            if bucket is None:
                raise ApiError(400, "invalid", "bucket %s in permissions not found" % resource["id"])
            resource["name"] = bucket["name"]
        result.append(dict(action=permission["action"], resource=resource))
    return result


class Api:
    """The endpoints; each returns (status, body-or-None) or raises ApiError."""

    def __init__(self, state):
        self.state = state
        self.started = datetime.now(timezone.utc)
        self.routes = [
            ("GET", r"/health", self.health, False),
            ("GET", r"/ping", self.ping, False),
            ("HEAD", r"/ping", self.ping, False),
            ("GET", r"/ready", self.ready, False),
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
        ]

    def dispatch(self, method, path, query, headers, body):
        known_path = False
        for route_method, pattern, handler, needs_token in self.routes:
            match = re.fullmatch(pattern, path)
            if not match:
                continue
            known_path = True
            if route_method != method:
                continue
            with self.state.lock:
                auth = self.state.authenticate(headers.get("Authorization")) if needs_token else None
                result = handler(auth=auth, query=query, body=body, **match.groupdict())
                if method != "GET":
                    self.state.save()
                return result
        if known_path:
            raise ApiError(405, "method not allowed", "method %s not allowed on %s" % (method, path))
        raise ApiError(404, "not found", "path not found")

    # -- system --------------------------------------------------------------
    def health(self, **_):
        return 200, dict(
            name="influxdb",
            message="ready for queries and writes",
            status="pass",
            checks=[],
            version=VERSION,
            commit="testdouble",
        )

    def ping(self, **_):
        return 204, None

    def ready(self, **_):
        up = datetime.now(timezone.utc) - self.started
        return 200, dict(
            status="ready", started=self.started.strftime("%Y-%m-%dT%H:%M:%SZ"), up="%ds" % int(up.total_seconds())
        )

    def setup_allowed(self, **_):
        return 200, dict(allowed=not self.state.data["onboarded"])

    def setup(self, body, **_):
        user, org, bucket, auth = self.state.onboard(json_body(body))
        return 201, dict(
            user=dict(
                id=user["id"], name=user["name"], status="active", links=dict(self="/api/v2/users/%s" % user["id"])
            ),
            org=render_org(org),
            bucket=render_bucket(bucket),
            auth=render_authorization(self.state, auth, with_token=True),
        )

    # -- organisations -------------------------------------------------------
    def visible_orgs(self, auth):
        return [
            org
            for org in self.state.data["orgs"].values()
            if permissions_cover(auth["permissions"], "read", "orgs", org["id"], org["id"])
        ]

    def list_orgs(self, auth, query, **_):
        orgs = sorted(self.visible_orgs(auth), key=lambda o: o["name"])
        if query.get("org"):
            orgs = [o for o in orgs if o["name"] == query["org"]]
            if not orgs:
                raise ApiError(404, "not found", 'organization name "%s" not found' % query["org"])
        if query.get("orgID"):
            orgs = [o for o in orgs if o["id"] == query["orgID"]]
        page, links = paginate(orgs, query, "/api/v2/orgs")
        return 200, dict(orgs=[render_org(o) for o in page], links=links)

    def create_org(self, auth, body, **_):
        request = json_body(body)
        self.state.require(auth, "write", "orgs", None)
        org = self.state.create_org(request.get("name", ""), request.get("description", ""))
        return 201, render_org(org)

    def get_org(self, auth, id, **_):
        org = self.state.org_by_id(id)
        self.state.require(auth, "read", "orgs", id, id)
        return 200, render_org(org)

    def patch_org(self, auth, id, body, **_):
        org = self.state.org_by_id(id)
        self.state.require(auth, "write", "orgs", id, id)
        request = json_body(body)
        if "name" in request:
            if any(o["name"] == request["name"] and o["id"] != id for o in self.state.data["orgs"].values()):
                raise ApiError(422, "conflict", "organization with name %s already exists" % request["name"])
            org["name"] = request["name"]
        if "description" in request:
            org["description"] = request["description"]
        return 200, render_org(org)

    def delete_org(self, auth, id, **_):
        self.state.org_by_id(id)
        self.state.require(auth, "write", "orgs", id, id)
        self.state.delete_org(id)
        return 204, None

    # -- buckets -------------------------------------------------------------
    def list_buckets(self, auth, query, **_):
        org = self.state.resolve_org(query.get("org"), query.get("orgID"))
        buckets = [
            b
            for b in self.state.data["buckets"].values()
            if (org is None or b["orgID"] == org["id"])
            and permissions_cover(auth["permissions"], "read", "buckets", b["orgID"], b["id"])
        ]
        if query.get("name"):
            buckets = [b for b in buckets if b["name"] == query["name"]]
        if query.get("id"):
            buckets = [b for b in buckets if b["id"] == query["id"]]
        buckets.sort(key=lambda b: b["id"])
        if query.get("after"):
            buckets = [b for b in buckets if b["id"] > query["after"]]
        page, links = paginate(buckets, query, "/api/v2/buckets")
        return 200, dict(buckets=[render_bucket(b) for b in page], links=links)

    def create_bucket(self, auth, body, **_):
        request = json_body(body)
        org_id = request.get("orgID", "")
        self.state.org_by_id(org_id)
        self.state.require(auth, "write", "buckets", org_id)
        bucket = self.state.create_bucket(
            org_id, request.get("name", ""), request.get("description", ""), request.get("retentionRules")
        )
        return 201, render_bucket(bucket)

    def get_bucket(self, auth, id, **_):
        bucket = self.state.bucket_by_id(id)
        self.state.require(auth, "read", "buckets", bucket["orgID"], id)
        return 200, render_bucket(bucket)

    def patch_bucket(self, auth, id, body, **_):
        bucket = self.state.bucket_by_id(id)
        self.state.require(auth, "write", "buckets", bucket["orgID"], id)
        return 200, render_bucket(self.state.update_bucket(id, json_body(body)))

    def delete_bucket(self, auth, id, **_):
        bucket = self.state.bucket_by_id(id)
        self.state.require(auth, "write", "buckets", bucket["orgID"], id)
        self.state.delete_bucket(id)
        return 204, None

    # -- authorizations ------------------------------------------------------
    def list_authorizations(self, auth, query, **_):
        org = self.state.resolve_org(query.get("org"), query.get("orgID"))
        user_id = query.get("userID")
        if query.get("user"):
            user_id = self.state.user_by_name(query["user"])["id"]
        auths = [
            a
            for a in self.state.data["authorizations"].values()
            if (org is None or a["orgID"] == org["id"])
            and (user_id is None or a.get("userID") == user_id)
            and permissions_cover(auth["permissions"], "read", "authorizations", a["orgID"], a["id"])
        ]
        if query.get("token"):
            auths = [a for a in auths if a["token"] == query["token"]]
        auths.sort(key=lambda a: a["createdAt"])
        return 200, dict(
            authorizations=[render_authorization(self.state, a) for a in auths],
            links=dict(self="/api/v2/authorizations"),
        )

    def create_authorization(self, auth, body, **_):
        request = json_body(body)
        org_id = request.get("orgID", "")
        self.state.org_by_id(org_id)
        self.state.require(auth, "write", "authorizations", org_id)
        permissions = named_permissions(self.state, request.get("permissions") or [])
        for permission in permissions:
            resource = permission["resource"]
            if resource.get("orgID") and resource["orgID"] != org_id:
                raise ApiError(400, "invalid", "permission resource orgID must match the authorization's orgID")
            if not permissions_cover(
                auth["permissions"],
                permission["action"],
                resource["type"],
                resource.get("orgID") or org_id,
                resource.get("id"),
            ):
                raise forbidden_grant()
        user_id = request.get("userID") or auth.get("userID")
        created = self.state.create_authorization(
            org_id, user_id, request.get("description", ""), permissions, request.get("status", "active")
        )
        return 201, render_authorization(self.state, created, with_token=True)

    def get_authorization(self, auth, id, **_):
        found = self.state.authorization_by_id(id)
        self.state.require(auth, "read", "authorizations", found["orgID"], id)
        return 200, render_authorization(self.state, found)

    def patch_authorization(self, auth, id, body, **_):
        found = self.state.authorization_by_id(id)
        self.state.require(auth, "write", "authorizations", found["orgID"], id)
        request = json_body(body)
        if "status" in request:
            found["status"] = request["status"]
        if "description" in request:
            found["description"] = request["description"]
        return 200, render_authorization(self.state, found)

    def delete_authorization(self, auth, id, **_):
        found = self.state.authorization_by_id(id)
        self.state.require(auth, "write", "authorizations", found["orgID"], id)
        del self.state.data["authorizations"][id]
        return 204, None

    # -- data ----------------------------------------------------------------
    def write(self, auth, query, body, **_):
        org = self.state.resolve_org(query.get("org"), query.get("orgID"))
        if org is None:
            raise ApiError(400, "invalid", "Please provide either orgID or org")
        bucket_ref = query.get("bucket", "")
        bucket = self.state.data["buckets"].get(bucket_ref)
        if bucket is None or bucket["orgID"] != org["id"]:
            bucket = self.state.bucket_by_name(org["id"], bucket_ref)
        if not permissions_cover(auth["permissions"], "write", "buckets", org["id"], bucket["id"]):
            raise ApiError(401, "unauthorized", "insufficient permissions for write")
        bucket["points"] = bucket.get("points", 0) + count_points(body.decode("utf-8", "replace"))
        return 204, None


def forbidden_grant():
    return ApiError(403, "forbidden", "cannot create authorization with permissions the token does not hold")


_LINE = re.compile(r"^[^\s,#][^\s]*\s+[^\s=]+=\S+(\s+-?\d+)?$")


def count_points(text):
    """Number of points in line protocol; a malformed line is a 400 naming it, like the server."""
    count = 0
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not _LINE.match(line):
            raise ApiError(400, "invalid", "unable to parse '%s': missing fields" % line, line=number)
        count += 1
    return count


def json_body(body):
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "invalid", "invalid JSON body: %s" % exc) from None
    if not isinstance(value, dict):
        raise ApiError(400, "invalid", "JSON body must be an object")
    return value


def paginate(items, query, base):
    try:
        offset = int(query.get("offset", 0))
        limit = int(query.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise ApiError(400, "invalid", "offset and limit must be integers") from None
    if limit < 1 or limit > MAX_LIMIT:
        raise ApiError(400, "invalid", "limit must be between 1 and %d" % MAX_LIMIT)
    page = items[offset : offset + limit]
    params = "&".join("%s=%s" % (k, v) for k, v in sorted(query.items()) if k not in ("offset", "after"))
    links = {"self": "%s?%s" % (base, params) if params else base}
    if offset + limit < len(items):
        links["next"] = "%s?%s%soffset=%d" % (base, params, "&" if params else "", offset + limit)
    if offset > 0:
        links["prev"] = "%s?%s%soffset=%d" % (base, params, "&" if params else "", max(0, offset - limit))
    return page, links


class Handler(BaseHTTPRequestHandler):
    server_version = "InfluxDB-test-double/" + VERSION
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        LOG.info("%s %s", self.address_string(), fmt % args)

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
                    raise ApiError(400, "invalid", "request does not match the InfluxDB v2 API: %s" % exc) from None
            status, payload = app.api.dispatch(self.command, parts.path, query, headers, body)
        except ApiError as exc:
            status, payload = exc.status, exc.body
        except Exception as exc:  # a bug in the test double must show, not hang the client
            LOG.exception("internal error")
            status, payload = 500, dict(code="internal error", message="test double: %s" % exc)
        data = json.dumps(payload).encode() if payload is not None else b""
        response_type = "application/json; charset=utf-8" if payload is not None else ""
        if app.contract is not None:
            try:
                app.contract.check_response(*request_record, status, data, response_type.split(";", maxsplit=1)[0])
            except app.contract_error as exc:
                # The test double broke the contract: answer 500 so the test that caused it fails.
                app.violations.append("%s %s -> %d: %s" % (self.command, parts.path, status, exc))
                message = "test double response violates the API: %s" % exc
                status, payload = 500, dict(code="internal error", message=message)
                data = json.dumps(payload).encode()
                response_type = "application/json; charset=utf-8"
        self.send_response(status)
        if response_type:
            self.send_header("Content-Type", response_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Influxdb-Build", "OSS")
        self.send_header("X-Influxdb-Version", VERSION)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_HEAD = do_PUT = _handle


class App:
    """State + endpoints + (optional) contract validation, shared by all request threads."""

    def __init__(self, state_file=None, contract=None):
        from .contract import ContractViolation

        self.state = State(state_file)
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
    thread = threading.Thread(target=httpd.serve_forever, name="influxdb-test-double", daemon=True)
    thread.start()
    return thread
