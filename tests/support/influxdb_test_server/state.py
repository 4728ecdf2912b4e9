"""State and rules of the InfluxDB v2 API test double (pure Python, no HTTP).

The test double keeps organisations, users, buckets and authorizations in memory,
optionally persisted to a JSON file so that a restarted service keeps them. The
rules reproduce the documented behaviour of InfluxDB OSS 2.x that the collection
relies on:

* onboarding (``POST /api/v2/setup``) is allowed once; afterwards it answers 422;
* bucket names are unique within an organisation (422 ``conflict`` otherwise);
* every organisation gets the system buckets ``_monitoring`` and ``_tasks``;
* retention rules carry ``everySeconds`` (0 = keep forever, otherwise at least one
  hour) and ``shardGroupDurationSeconds`` (derived from the retention when not
  given, never longer than the retention);
* a permission covers a resource when action and type match and its ``id`` and
  ``orgID``, where set, match; the onboarding (operator) token holds every
  permission on every organisation, a token can only grant what it holds itself;
* token values are returned only by the call that creates them.
"""

from __future__ import annotations

import copy
import json
import os
import secrets
import threading
from datetime import datetime, timezone

HOUR = 3600
DAY = 86400

# Resource types an operator token covers (the enum of the API's Resource schema).
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
    "remotes",
    "replications",
)


class ApiError(Exception):
    """An error the real server reports with an HTTP status and an Error body."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.body = dict(code=code, message=message, **extra)


def not_found(what):
    return ApiError(404, "not found", "%s not found" % what)


def unauthorized(message="unauthorized access"):
    return ApiError(401, "unauthorized", message)


def forbidden(message):
    return ApiError(403, "forbidden", message)


def now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def new_id():
    # InfluxDB IDs are 16 lower-case hex digits.
    return secrets.token_hex(8)


def default_shard_group_duration(every_seconds):
    """The server's default shard-group duration for a retention period."""
    if every_seconds == 0 or every_seconds >= 180 * DAY:
        return 7 * DAY
    if every_seconds >= 2 * DAY:
        return DAY
    return HOUR


def permission_covers(permission, action, rtype, org_id, rid=None):
    """Whether one granted permission allows ``action`` on a resource."""
    # A write permission does not imply read in InfluxDB.
    if permission["action"] != action:
        return False
    resource = permission["resource"]
    if resource["type"] != rtype:
        return False
    if resource.get("orgID") and resource["orgID"] != org_id:
        return False
    if resource.get("id") and resource["id"] != rid:
        return False
    return True


def permissions_cover(permissions, action, rtype, org_id, rid=None):
    return any(permission_covers(p, action, rtype, org_id, rid) for p in permissions)


class State:
    """Everything the server knows; thread-safe through one lock, saved after each change."""

    def __init__(self, state_file=None):
        self.state_file = state_file
        self.lock = threading.RLock()
        self.data = {"onboarded": False, "orgs": {}, "users": {}, "buckets": {}, "authorizations": {}}
        if state_file and os.path.exists(state_file):
            with open(state_file) as handle:
                self.data = json.load(handle)

    # -- persistence ---------------------------------------------------------
    def save(self):
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        # The file holds token values: readable by the service user only.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(self.data, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.state_file)

    # -- authentication ------------------------------------------------------
    def authenticate(self, header):
        """The authorization behind an ``Authorization: Token <t>`` header, or 401."""
        if not header:
            raise unauthorized()
        scheme, _space, token = header.partition(" ")
        if scheme not in ("Token", "Bearer") or not token.strip():
            raise unauthorized()
        for auth in self.data["authorizations"].values():
            if secrets.compare_digest(auth["token"], token.strip()):
                if auth["status"] != "active":
                    raise unauthorized()
                return auth
        raise unauthorized()

    @staticmethod
    def require(auth, action, rtype, org_id, rid=None):
        if not permissions_cover(auth["permissions"], action, rtype, org_id, rid):
            what = "%s:orgs/%s/%s" % (action, org_id, rtype) + ("/%s" % rid if rid else "")
            raise unauthorized("insufficient permissions for %s" % what)

    # -- organisations -------------------------------------------------------
    def org_by_name(self, name):
        for org in self.data["orgs"].values():
            if org["name"] == name:
                return org
        raise not_found('organization name "%s"' % name)

    def org_by_id(self, org_id):
        org = self.data["orgs"].get(org_id)
        if org is None:
            raise not_found("organization")
        return org

    def resolve_org(self, org=None, org_id=None):
        if org_id:
            return self.org_by_id(org_id)
        if org:
            return self.org_by_name(org)
        return None

    def create_org(self, name, description=""):
        if not name:
            raise ApiError(422, "invalid", "org name is empty")
        if any(o["name"] == name for o in self.data["orgs"].values()):
            raise ApiError(422, "conflict", "organization with name %s already exists" % name)
        stamp = now()
        org = dict(id=new_id(), name=name, description=description, createdAt=stamp, updatedAt=stamp)
        self.data["orgs"][org["id"]] = org
        for system in ("_monitoring", "_tasks"):
            every = 7 * DAY if system == "_monitoring" else 3 * DAY
            self._store_bucket(org["id"], system, "System bucket for %s" % system.strip("_"), every, None, "system")
        return org

    def delete_org(self, org_id):
        self.org_by_id(org_id)
        del self.data["orgs"][org_id]
        for table in ("buckets", "authorizations"):
            for key in [k for k, v in self.data[table].items() if v["orgID"] == org_id]:
                del self.data[table][key]

    # -- buckets -------------------------------------------------------------
    @staticmethod
    def retention_from_rules(rules, current_shard=None):
        """(everySeconds, shardGroupDurationSeconds) from API retention rules, or 4xx."""
        every, shard = 0, None
        for rule in rules or []:
            every = int(rule.get("everySeconds", 0))
            shard = rule.get("shardGroupDurationSeconds")
        if every and every < HOUR:
            raise ApiError(422, "unprocessable entity", "retention policy duration must be at least 1h0m0s")
        if shard in (None, 0):
            shard = current_shard if current_shard and (every == 0 or current_shard <= every) else None
            shard = shard or default_shard_group_duration(every)
        if shard < 0:
            raise ApiError(422, "unprocessable entity", "shard-group duration must be positive")
        if every and shard > every:
            raise ApiError(
                422,
                "unprocessable entity",
                "shard-group duration (%ds) must be less than or equal to the retention duration (%ds)"
                % (shard, every),
            )
        return every, shard

    def _store_bucket(self, org_id, name, description, every, shard, btype="user"):
        every, shard = self.retention_from_rules(
            [{"everySeconds": every, "shardGroupDurationSeconds": shard}] if every or shard else []
        )
        stamp = now()
        bucket = dict(
            id=new_id(),
            orgID=org_id,
            name=name,
            description=description or "",
            type=btype,
            everySeconds=every,
            shardGroupDurationSeconds=shard,
            createdAt=stamp,
            updatedAt=stamp,
            points=0,
        )
        self.data["buckets"][bucket["id"]] = bucket
        return bucket

    def create_bucket(self, org_id, name, description, rules):
        self.org_by_id(org_id)
        if not name:
            raise ApiError(422, "invalid", "bucket name is empty")
        if name.startswith("_"):
            raise ApiError(422, "invalid", "bucket name %s is invalid. Buckets may not start with underscore" % name)
        if any(b["name"] == name and b["orgID"] == org_id for b in self.data["buckets"].values()):
            raise ApiError(422, "conflict", "bucket with name %s already exists" % name)
        every, shard = self.retention_from_rules(rules)
        return self._store_bucket(org_id, name, description, every, shard)

    def bucket_by_id(self, bucket_id):
        bucket = self.data["buckets"].get(bucket_id)
        if bucket is None:
            raise not_found("bucket")
        return bucket

    def bucket_by_name(self, org_id, name):
        for bucket in self.data["buckets"].values():
            if bucket["orgID"] == org_id and bucket["name"] == name:
                return bucket
        raise not_found('bucket "%s"' % name)

    def update_bucket(self, bucket_id, patch):
        bucket = self.bucket_by_id(bucket_id)
        if "name" in patch and patch["name"] != bucket["name"]:
            if bucket["type"] == "system":
                raise ApiError(422, "invalid", "system buckets cannot be renamed")
            if any(b["name"] == patch["name"] and b["orgID"] == bucket["orgID"] for b in self.data["buckets"].values()):
                raise ApiError(422, "conflict", "bucket with name %s already exists" % patch["name"])
            bucket["name"] = patch["name"]
        if "description" in patch:
            bucket["description"] = patch["description"] or ""
        if "retentionRules" in patch:
            every, shard = self.retention_from_rules(patch["retentionRules"], bucket["shardGroupDurationSeconds"])
            bucket["everySeconds"], bucket["shardGroupDurationSeconds"] = every, shard
        bucket["updatedAt"] = now()
        return bucket

    def delete_bucket(self, bucket_id):
        bucket = self.bucket_by_id(bucket_id)
        if bucket["type"] == "system":
            raise forbidden("system buckets cannot be deleted")
        del self.data["buckets"][bucket_id]

    # -- users and authorizations -------------------------------------------
    def user_by_name(self, name):
        for user in self.data["users"].values():
            if user["name"] == name:
                return user
        raise not_found('user "%s"' % name)

    def create_authorization(self, org_id, user_id, description, permissions, status="active", token=None):
        self.org_by_id(org_id)
        stamp = now()
        auth = dict(
            id=new_id(),
            token=token or secrets.token_urlsafe(64),
            status=status,
            description=description or "",
            orgID=org_id,
            userID=user_id,
            permissions=copy.deepcopy(permissions),
            createdAt=stamp,
            updatedAt=stamp,
        )
        self.data["authorizations"][auth["id"]] = auth
        return auth

    def authorization_by_id(self, auth_id):
        auth = self.data["authorizations"].get(auth_id)
        if auth is None:
            raise not_found("authorization")
        return auth

    # -- onboarding ----------------------------------------------------------
    def onboard(self, request):
        if self.data["onboarded"]:
            raise ApiError(422, "conflict", "onboarding has already been completed")
        for field in ("username", "org", "bucket"):
            if not request.get(field):
                raise ApiError(422, "empty value", "%s is empty" % field)
        password = request.get("password") or ""
        if password and len(password) < 8:
            raise ApiError(422, "invalid", "passwords must be at least 8 characters long")
        every = request.get("retentionPeriodSeconds")
        if every is None:
            every = int(request.get("retentionPeriodHrs") or 0) * HOUR
        user = dict(id=new_id(), name=request["username"], status="active")
        self.data["users"][user["id"]] = user
        org = self.create_org(request["org"])
        bucket = self.create_bucket(org["id"], request["bucket"], "", [{"everySeconds": every}] if every else [])
        operator = [{"action": a, "resource": {"type": t}} for t in RESOURCE_TYPES for a in ("read", "write")]
        auth = self.create_authorization(
            org["id"], user["id"], "%s's Token" % user["name"], operator, token=request.get("token") or None
        )
        self.data["onboarded"] = True
        return user, org, bucket, auth
