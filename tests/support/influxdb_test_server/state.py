"""State and rules of the InfluxDB v2 API test double (pure Python, no HTTP).

Organisations, users, buckets, authorizations and points, kept in memory and, with a
state file, saved after every change so that a restarted service keeps them. Every
rule here reproduces the real server's source (influxdata/influxdb at v2.7.11 and
v2.9.1); the file a rule comes from is named beside it, and
``tests/support/influxdb_test_server/README.md`` lists each behaviour with its test.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import secrets
import threading
import time
from datetime import datetime, timezone

from .profiles import profile_named

HOUR = 3600
DAY = 86400
MIN_RETENTION = HOUR  # v1/services/meta/data.go: MinRetentionPolicyDuration

# authz.go: AllResourceTypes. The operator token gets read and write on each type but
# "instance" (OperPermissions).
RESOURCE_TYPES = (
    "authorizations",
    "buckets",
    "dashboards",
    "orgs",
    "sources",
    "tasks",
    "telegrafs",
    "users",
    "variables",
    "scrapers",
    "secrets",
    "labels",
    "views",
    "documents",
    "notificationRules",
    "notificationEndpoints",
    "checks",
    "dbrp",
    "notebooks",
    "annotations",
    "remotes",
    "replications",
    "instance",
)

# kit/transport/http/error_handler.go: influxDBErrorToStatusCode.
ERROR_STATUS = {
    "internal error": 500,
    "not implemented": 501,
    "invalid": 400,
    "unprocessable entity": 422,
    "empty value": 400,
    "conflict": 422,
    "not found": 404,
    "unavailable": 503,
    "forbidden": 403,
    "too many requests": 429,
    "unauthorized": 401,
    "method not allowed": 405,
    "request too large": 413,
}


class ApiError(Exception):
    """An error the real server answers with: the status follows from the code."""

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.status = status or ERROR_STATUS.get(code, 500)
        self.body = dict(code=code, message=message)


class StateError(Exception):
    """A state file this profile cannot open (the service refuses to start)."""


def invalid(message):
    return ApiError("invalid", message)


def not_found(message):
    return ApiError("not found", message)


def internal(message):
    # A plain Go error (not *errors.Error) reaches the client as "internal error", 500,
    # with its text as the message (kit/transport/http/api.go, NewAPI's errFn).
    return ApiError("internal error", message)


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_id(text):
    """kit/platform/id.go: IDs are 16 hex digits and not zero."""
    if len(text or "") != 16:
        raise invalid("id must have a length of 16 bytes")
    try:
        value = int(text, 16)
    except ValueError:
        raise invalid("invalid ID") from None
    if value == 0:
        raise invalid("invalid ID")
    return text


def default_shard_group_duration(every_seconds):
    """v1/services/meta/data.go: shardGroupDuration."""
    if every_seconds == 0 or every_seconds >= 180 * DAY:
        return 7 * DAY
    if every_seconds >= 2 * DAY:
        return DAY
    return HOUR


def normalised_shard_duration(shard, every_seconds):
    """v1/services/meta/data.go: NormalisedShardDuration (0 -> the default, under 1 h -> 1 h)."""
    if not shard:
        return default_shard_group_duration(every_seconds)
    if shard < MIN_RETENTION:
        return default_shard_group_duration(MIN_RETENTION)
    return shard


def hash_token(token):
    """The PHC string 2.9 stores instead of a token (pkg/crypt/algorithm/influxdb2, SHA-256 by default)."""
    digest = hashlib.sha256(token.encode()).digest()
    return "$influxdb2-sha256$" + base64.urlsafe_b64encode(digest).decode()


def new_token():
    """rand/token.go: 64 random bytes, URL-safe base64 (88 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(64)).decode()


# -- permissions (authz.go) --------------------------------------------------
def resource_string(resource):
    """authz.go: Resource.String()."""
    org_id, rid, rtype = resource.get("orgID"), resource.get("id"), resource["type"]
    if org_id and rid:
        return "orgs/%s/%s/%s" % (org_id, rtype, rid)
    if org_id:
        return "orgs/%s/%s" % (org_id, rtype)
    if rid:
        return "%s/%s" % (rtype, rid)
    return rtype


def permission_string(permission):
    return "%s:%s" % (permission["action"], resource_string(permission["resource"]))


def permission_matches(granted, wanted):
    """authz.go: Permission.matchesV1 (write does not imply read; an ID-scoped grant ignores the org)."""
    if granted["action"] != wanted["action"]:
        return False
    held, needed = granted["resource"], wanted["resource"]
    if held["type"] == "instance":
        return True
    if held["type"] != needed["type"]:
        return False
    if not held.get("orgID") and not held.get("id"):
        return True
    if held.get("orgID") and not held.get("id") and needed.get("orgID") == held["orgID"]:
        return True
    return bool(held.get("id") and needed.get("id") == held["id"])


def wanted(action, rtype, org_id=None, rid=None):
    resource = {"type": rtype}
    if org_id:
        resource["orgID"] = org_id
    if rid:
        resource["id"] = rid
    return {"action": action, "resource": resource}


def is_allowed(auth, permission):
    """authorizer/authorize.go: isAllowed -- 401 "<permission> is unauthorized"; auth.go: inactive tokens."""
    if auth["status"] != "active":
        raise ApiError("unauthorized", "token is inactive")
    if not any(permission_matches(p, permission) for p in auth["permissions"]):
        raise ApiError("unauthorized", "%s is unauthorized" % permission_string(permission))


def allows(auth, permission):
    try:
        is_allowed(auth, permission)
    except ApiError:
        return False
    return True


def bucket_read_permission(bucket):
    """authorizer/authorize.go: AuthorizeReadBucket -- a system bucket is readable with read on its org."""
    if bucket["type"] == "system":
        return wanted("read", "orgs", rid=bucket["orgID"])
    return wanted("read", "buckets", bucket["orgID"], bucket["id"])


def can_read_bucket(auth, bucket):
    return allows(auth, bucket_read_permission(bucket))


class State:
    """Everything the server knows; thread-safe through one lock, saved after each change."""

    def __init__(self, state_file=None, profile=None):
        self.state_file = state_file
        self.profile = profile_named(profile) if isinstance(profile, (str, type(None))) else profile
        self.lock = threading.RLock()
        self.data = self.empty()
        if state_file and os.path.exists(state_file):
            with open(state_file) as handle:
                self.data = self.upgrade(json.load(handle))
        self.open_with_profile()

    @staticmethod
    def empty():
        return {
            "schema": 0,
            "lastID": 0,
            "orgs": {},
            "users": {},
            "buckets": {},
            "authorizations": {},
            "points": {},
        }

    @staticmethod
    def upgrade(data):
        """Fill in what state files of earlier test double versions lack."""
        base = State.empty()
        base.update(data)
        base.pop("onboarded", None)  # derived from users and orgs now
        for bucket in base["buckets"].values():
            bucket.pop("points", None)
            bucket.setdefault("engineShardGroupDurationSeconds", bucket.get("shardGroupDurationSeconds", 0))
        for auth in base["authorizations"].values():
            auth.setdefault("hashedToken", "")
        if not base["schema"]:
            base["schema"] = 20  # a state without a schema was written with readable tokens
        return base

    def open_with_profile(self):
        """The start-up steps of the chosen release on this state."""
        if self.data["schema"] > self.profile.schema:
            # kv/migration/migration.go + kit/migration/errors.go: an older release refuses
            # metadata migrated by a newer one.
            raise StateError(
                'DB contains record of unknown migration "0021_create_authorization_hashed_index_v1" - if you are '
                'downgrading from a more recent version of influxdb, please run the "influxd downgrade" command '
                "from that version to revert your metadata to be compatible with this version prior to starting "
                "influxd. (test double: the %s profile cannot open a state the %s profile has opened)"
                % (self.profile.name, "2.9")
            )
        self.data["schema"] = self.profile.schema
        if self.profile.hashed_tokens:
            # authorization/storage.go (v2.9.1): MigrateTokens on every start hashes raw tokens.
            for auth in self.data["authorizations"].values():
                if auth.get("token"):
                    auth["hashedToken"] = hash_token(auth["token"])
                    auth["token"] = ""
        self.save()

    # -- persistence ---------------------------------------------------------
    def save(self):
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        # The file holds token values (2.7) or hashes (2.9): readable by the service user only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)

    def new_id(self):
        """Time-ordered 16-hex-digit IDs, like the server's snowflake generator."""
        candidate = max(self.data["lastID"] + 1, int(time.time() * 1000) << 22)
        self.data["lastID"] = candidate
        return "%016x" % candidate

    # -- authentication (http/authentication_middleware.go, http/tokens.go) --
    def authenticate(self, header):
        """The authorization behind an ``Authorization: Token <t>`` (or Bearer) header, or 401."""
        token = None
        for scheme in ("token ", "bearer "):
            if header and header[: len(scheme)].lower() == scheme:
                token = header[len(scheme) :]
        if not token:
            raise ApiError("unauthorized", "unauthorized access")
        if self.profile.hashed_tokens and token.startswith("$influxdb2-"):
            # authorization/storage.go (v2.9.1): a presented PHC hash is never a token.
            raise ApiError("unauthorized", "unauthorized access")
        hashed = hash_token(token)
        for auth in self.data["authorizations"].values():
            if auth.get("token") and secrets.compare_digest(auth["token"], token):
                return auth
            if auth.get("hashedToken") and secrets.compare_digest(auth["hashedToken"], hashed):
                return auth
        raise ApiError("unauthorized", "unauthorized access")

    # -- organisations -------------------------------------------------------
    def org_by_name(self, name):
        for org in self.data["orgs"].values():
            if org["name"] == name:
                return org
        raise not_found('organization name "%s" not found' % name)  # tenant/error_org.go

    def org_by_id(self, org_id):
        org = self.data["orgs"].get(org_id)
        if org is None:
            raise not_found("organization not found")
        return org

    def find_org(self, org=None, org_id=None):
        """http/requests.go: queryOrganization -- ``org`` may be a name or an ID."""
        if org_id:
            return self.org_by_id(parse_id(org_id))
        if org:
            if len(org) == 16:
                try:
                    return self.org_by_id(parse_id(org))
                except ApiError:
                    pass
            return self.org_by_name(org)
        raise invalid("Please provide either orgID or org")  # organization.go: ErrInvalidOrgFilter

    def create_org(self, name, description="", owner_id=None):
        """tenant/service_org.go: CreateOrganization, with its two system buckets."""
        if not name:
            raise invalid("org name is empty")
        if any(o["name"] == name for o in self.data["orgs"].values()):
            raise ApiError("conflict", "organization with name %s already exists" % name)
        stamp = now()
        org = dict(id=self.new_id(), name=name, description=description or "", createdAt=stamp, updatedAt=stamp)
        self.data["orgs"][org["id"]] = org
        self.store_bucket(org["id"], "_tasks", "System bucket for task logs", 3 * DAY, 0, "system")
        self.store_bucket(org["id"], "_monitoring", "System bucket for monitoring logs", 7 * DAY, 0, "system")
        if owner_id:
            org["owners"] = [owner_id]
        return org

    def delete_org(self, org_id):
        """tenant/service_org.go: DeleteOrganization deletes the buckets; tokens stay (and are no longer listed)."""
        self.org_by_id(org_id)
        for bucket_id in [k for k, b in self.data["buckets"].items() if b["orgID"] == org_id]:
            self.data["points"].pop(bucket_id, None)
            del self.data["buckets"][bucket_id]
        del self.data["orgs"][org_id]

    # -- buckets -------------------------------------------------------------
    def store_bucket(self, org_id, name, description, every, shard, btype="user"):
        """storage/bucket_service.go CreateBucket: normalise the shard, store, then create the engine's policy."""
        shard = normalised_shard_duration(shard, every)
        stamp = now()
        bucket = dict(
            id=self.new_id(),
            orgID=org_id,
            name=name,
            description=description or "",
            type=btype,
            everySeconds=every,
            shardGroupDurationSeconds=shard,
            engineShardGroupDurationSeconds=shard,
            createdAt=stamp,
            updatedAt=stamp,
        )
        self.data["buckets"][bucket["id"]] = bucket
        try:
            # v1/services/meta/client.go CreateDatabaseWithRetentionPolicy and data.go
            # CreateRetentionPolicy: plain Go errors, so 500 "internal error".
            if every and every < MIN_RETENTION:
                raise internal("retention policy duration must be at least 1h0m0s")
            if every and every < shard:
                raise internal("retention policy duration must be greater than the shard duration")
        except ApiError:
            # storage/bucket_service.go: the bucket is deleted again when the engine refuses it.
            del self.data["buckets"][bucket["id"]]
            raise
        return bucket

    def create_bucket(self, org_id, name, description, every, shard):
        """tenant/service_bucket.go CreateBucket (the name rules and the org) and storage_bucket.go (uniqueness)."""
        if name.startswith("_"):
            raise invalid("bucket name %s is invalid. Buckets may not start with underscore" % name)
        if '"' in name:
            raise invalid("bucket name %s is invalid. Bucket names may not include quotation marks" % name)
        self.org_by_id(org_id)
        if any(b["name"] == name and b["orgID"] == org_id for b in self.data["buckets"].values()):
            raise ApiError("conflict", "bucket with name %s already exists" % name)
        return self.store_bucket(org_id, name, description, every, shard)

    def bucket_by_id(self, bucket_id):
        bucket = self.data["buckets"].get(bucket_id)
        if bucket is None:
            raise not_found("bucket not found")
        return bucket

    def bucket_by_name(self, org_id, name):
        """tenant/storage_bucket.go: GetBucketByName -- 404 when there is none."""
        for bucket in self.data["buckets"].values():
            if bucket["orgID"] == org_id and bucket["name"] == name:
                return bucket
        raise not_found('bucket "%s" not found' % name)

    def list_buckets(self, org_id=None, name=None, offset=0, limit=20, after=None, descending=False):
        """tenant/storage_bucket.go: ListBuckets (by ID) and listBucketsByOrg (by name within an org)."""
        if org_id is not None:
            items = sorted((b for b in self.data["buckets"].values() if b["orgID"] == org_id), key=lambda b: b["name"])
        else:
            items = sorted(self.data["buckets"].values(), key=lambda b: b["id"])
            if after:
                items = [b for b in items if b["id"] > after]
        if descending:
            items.reverse()
        items = items[offset:]
        if org_id is not None and after:
            ids = [b["id"] for b in items]
            items = items[ids.index(after) + 1 :] if after in ids else []
        if name is not None:
            items = [b for b in items if b["name"] == name]
        return items[:limit] if limit else items

    def update_bucket(self, bucket_id, name=None, description=None, every=None, shard=None):
        """storage/engine.go UpdateBucketRetentionPolicy, then tenant/storage_bucket.go UpdateBucket."""
        bucket = self.bucket_by_id(bucket_id)
        # v1/services/meta/data.go UpdateRetentionPolicy, on the engine's own shard duration.
        engine_shard = bucket["engineShardGroupDurationSeconds"]
        if every is not None and every != 0 and every < MIN_RETENTION:
            raise internal("retention policy duration must be at least 1h0m0s")
        if (every is not None and every > 0 and every < (shard if shard is not None else engine_shard)) or (
            every is None and bucket["everySeconds"] > 0 and shard is not None and bucket["everySeconds"] < shard
        ):
            raise ApiError(
                "unprocessable entity",
                "shard-group duration must also be updated to be smaller than new retention duration",
            )
        if shard is not None:
            bucket["engineShardGroupDurationSeconds"] = normalised_shard_duration(
                shard, every if every is not None else bucket["everySeconds"]
            )
        if name is not None and name != bucket["name"]:
            if bucket["type"] == "system":
                raise invalid("system buckets cannot be renamed")
            if name.startswith("_"):
                raise invalid("bucket name %s is invalid. Buckets may not start with underscore" % name)
            if any(b["name"] == name and b["orgID"] == bucket["orgID"] for b in self.data["buckets"].values()):
                raise ApiError("conflict", "bucket name is not unique")
            bucket["name"] = name
        if description is not None:
            bucket["description"] = description
        if every is not None:
            bucket["everySeconds"] = every
        if shard is not None:
            # The bucket keeps the value as sent; only the engine's copy is normalised.
            bucket["shardGroupDurationSeconds"] = shard
        bucket["updatedAt"] = now()
        return bucket

    def delete_bucket(self, bucket_id):
        """storage/bucket_service.go DeleteBucket (the data first), tenant/service_bucket.go (system buckets)."""
        bucket = self.bucket_by_id(bucket_id)
        self.data["points"].pop(bucket_id, None)
        if bucket["type"] == "system":
            raise invalid("system buckets cannot be deleted")
        del self.data["buckets"][bucket_id]

    # -- users ---------------------------------------------------------------
    def user_by_id(self, user_id):
        user = self.data["users"].get(user_id or "")
        if user is None:
            raise not_found("user not found")
        return user

    def user_by_name(self, name):
        for user in self.data["users"].values():
            if user["name"] == name:
                return user
        raise not_found("user not found")

    # -- authorizations ------------------------------------------------------
    def create_authorization(self, org_id, user_id, description, permissions, status="active", token=None):
        """authorization/service.go CreateAuthorization; 2.9 stores only the hash (storage_authorization.go)."""
        if token and any(self.authorization_token_matches(a, token) for a in self.data["authorizations"].values()):
            raise ApiError("conflict", "token already exists")
        value = token or new_token()
        stamp = now()
        auth = dict(
            id=self.new_id(),
            token="" if self.profile.hashed_tokens else value,
            hashedToken=hash_token(value) if self.profile.hashed_tokens else "",
            status=status or "active",
            description=description or "",
            orgID=org_id,
            userID=user_id,
            permissions=copy.deepcopy(permissions),
            createdAt=stamp,
            updatedAt=stamp,
        )
        self.data["authorizations"][auth["id"]] = auth
        return auth, value

    @staticmethod
    def authorization_token_matches(auth, token):
        return auth.get("token") == token or auth.get("hashedToken") == hash_token(token)

    def authorization_by_id(self, auth_id):
        auth = self.data["authorizations"].get(auth_id)
        if auth is None:
            raise not_found("authorization not found")
        return auth

    def list_authorizations(self, org_id=None, user_id=None, auth_id=None):
        """authorization/storage_authorization.go: ListAuthorizations, in ID order."""
        found = sorted(self.data["authorizations"].values(), key=lambda a: a["id"])
        if auth_id:
            return [a for a in found if a["id"] == auth_id]
        return [
            a
            for a in found
            if (org_id is None or a["orgID"] == org_id) and (user_id is None or a.get("userID") == user_id)
        ]

    # -- onboarding (tenant/service_onboarding.go) ------------------------------
    def onboarding_allowed(self):
        """IsOnboarding: allowed while there is no user and no organization."""
        return not self.data["users"] and not self.data["orgs"]

    def onboard(self, request):
        if not self.onboarding_allowed():
            raise ApiError("conflict", "onboarding has already been completed")  # tenant/error.go
        missing = [field for field in ("username", "org", "bucket") if not request.get(field)]
        if missing:
            raise ApiError(
                "unprocessable entity", "onboarding failed: missing required fields [%s]" % ",".join(missing)
            )
        user = dict(id=self.new_id(), name=request["username"], status="active")
        self.data["users"][user["id"]] = user
        password = request.get("password") or ""
        # tenant/service_user.go IsPasswordStrong (kit/platform/errors/error_user.go): 8 to 72
        # bytes; the user is deleted again when the password is refused.
        if password and not 8 <= len(password.encode("utf-8")) <= 72:
            del self.data["users"][user["id"]]
            raise invalid("passwords must be between 8 and 72 characters long")
        org = self.create_org(request["org"], owner_id=user["id"])
        # onboarding.go RetentionPeriod: seconds first; the deprecated "Hrs" key is nanoseconds.
        every = int(request.get("retentionPeriodSeconds") or 0)
        if every <= 0:
            every = int(request.get("retentionPeriodHrs") or 0) // 1_000_000_000
        # A refused retention leaves the user and the organisation in place, and no token.
        bucket = self.store_bucket(org["id"], request["bucket"], "", every, 0)
        operator = [
            {"action": a, "resource": {"type": t}} for t in RESOURCE_TYPES if t != "instance" for a in ("read", "write")
        ]
        auth, value = self.create_authorization(
            org["id"], user["id"], "%s's Token" % user["name"], operator, token=request.get("token") or None
        )
        return user, org, bucket, auth, value

    # -- points ------------------------------------------------------------------
    def write_points(self, bucket_id, points, default_time):
        """A point with the same series, field and time replaces the earlier one."""
        stored = self.data["points"].setdefault(bucket_id, {})
        for point in points:
            moment = point.time if point.time is not None else default_time
            for field, kind, value in point.fields:
                key = json.dumps([point.measurement, point.tags, field, moment])
                stored[key] = [point.measurement, [list(t) for t in point.tags], field, moment, kind, value]

    def points_of(self, bucket_id):
        return [
            (m, tuple(tuple(t) for t in tags), field, moment, kind, value)
            for m, tags, field, moment, kind, value in self.data["points"].get(bucket_id, {}).values()
        ]
