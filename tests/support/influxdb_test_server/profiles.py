"""The InfluxDB OSS releases the test double can behave like, chosen when it starts.

* ``2.7`` follows v2.7.11: token values are stored as they are and every read of a
  token shows its value.
* ``2.9`` follows v2.9.1, the current release: tokens are stored hashed
  (``--use-hashed-tokens`` is on by default since 2.9.0), so a token's value is in
  the response that creates it and nowhere else. Starting the 2.9 profile on a state
  written by the 2.7 profile hashes every stored token, as the real server does on
  each start (``authorization/storage.go``, ``MigrateTokens``, at v2.9.1). The 2.7
  profile refuses a state the 2.9 profile has opened, as the real 2.7 refuses a
  metadata store migrated by a later release (``kv/migration/migration.go``).

Everything else the collection relies on behaves the same in both releases (the
tenant, bucket, storage and write code is unchanged between the two tags).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    version: str  # what /health and the X-Influxdb-Version header report
    commit: str  # the release tag's commit, as /health reports it
    hashed_tokens: bool
    schema: int  # the metadata migrations this release knows (kv/migration/all/all.go)


PROFILES = {
    "2.7": Profile(name="2.7", version="v2.7.11", commit="fbf5d4ab5e", hashed_tokens=False, schema=20),
    "2.9": Profile(name="2.9", version="v2.9.1", commit="d4fa1941fd", hashed_tokens=True, schema=21),
}
DEFAULT_PROFILE = "2.9"  # the current release


def profile_named(name):
    try:
        return PROFILES[name or DEFAULT_PROFILE]
    except KeyError:
        raise ValueError("unknown profile %r: choose one of %s" % (name, ", ".join(sorted(PROFILES)))) from None
