# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every TimescaleDB module checks before it plans: extension, preload, version, edition.

TimescaleDB ships in two editions built from one source tree:

* ``apache`` (Apache-2.0): hypertables, time_bucket, chunk management. This is what
  Debian packages (``postgresql-17-timescaledb``).
* ``timescale`` (the "community edition", Timescale License): adds retention,
  compression/columnstore and continuous aggregates. Only Timescale's own package
  repository ships it.

The server reports its edition in ``SHOW timescaledb.license``. On ``apache`` the
TSL functions fail with ``... is not supported under the current "apache" license``
*after* earlier statements of a run may already have changed things, so the modules
check the edition first and fail before they change anything.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import SqlSession, connect, server_message

# create_hypertable(..., by_range(...)) and the dimension builders exist since 2.13.
MINIMUM_VERSION = (2, 13, 0)

APACHE = "apache"
COMMUNITY = "timescale"

COMMUNITY_EDITION_HOWTO = (
    "Install the community edition from Timescale's package repository "
    "(https://packagecloud.io/timescale/timescaledb, package timescaledb-2-postgresql-<major>; "
    "the mantis.datalayer.timescaledb role does this with timescaledb_install_method: timescale_repository) "
    "and set timescaledb.license = 'timescale' in postgresql.conf."
)


class TimescaleError(Exception):
    """A condition that stops a module before it changes anything; the message says what to do."""


def parse_version(text):
    """'2.19.3' -> (2, 19, 3); suffixes such as '-dev' are ignored."""
    parts = []
    for piece in str(text).split("-", 1)[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts[:3])


def version_text(version):
    return ".".join(str(part) for part in version)


def preload_libraries(setting):
    """The libraries named in a shared_preload_libraries value, in order."""
    return [name.strip().strip('"') for name in (setting or "").split(",") if name.strip().strip('"')]


def check_server(state, database):
    """Raise TimescaleError unless TimescaleDB is usable in ``database``.

    ``state`` is what :func:`read_server_state` returns.
    """
    if "timescaledb" not in preload_libraries(state["shared_preload_libraries"]):
        raise TimescaleError(
            "TimescaleDB is not preloaded on this server: shared_preload_libraries is %r. "
            "Add timescaledb to shared_preload_libraries (keeping the libraries already listed) "
            "and restart PostgreSQL; the mantis.datalayer.timescaledb role does both."
            % (state["shared_preload_libraries"] or "")
        )
    if state["installed_version"] is None:
        if state["available_version"] is None:
            raise TimescaleError(
                "The timescaledb extension is not available on this server (no timescaledb package "
                "for this PostgreSQL version is installed); install it, for example with the "
                "mantis.datalayer.timescaledb role."
            )
        raise TimescaleError(
            "The timescaledb extension is not installed in database %r: run CREATE EXTENSION timescaledb "
            "there first (version %s is available), for example with the mantis.datalayer.timescaledb role."
            % (database, state["available_version"])
        )
    installed = parse_version(state["installed_version"])
    if installed < MINIMUM_VERSION:
        raise TimescaleError(
            "TimescaleDB %s is installed in database %r; this module needs %s or newer. "
            "Update the package, then run ALTER EXTENSION timescaledb UPDATE as the first command of a new session."
            % (state["installed_version"], database, version_text(MINIMUM_VERSION))
        )


def unsupported_feature_message(edition, features):
    """The message for asking an edition for features it lacks (``features``: readable names)."""
    return (
        "%s need%s the TimescaleDB community edition (timescaledb.license = 'timescale'), "
        'but this server runs the "%s" edition, which does not include them. %s'
        % (
            ", ".join(features),
            "s" if len(features) == 1 else "",
            edition,
            COMMUNITY_EDITION_HOWTO,
        )
    )


def check_edition(edition, features):
    """Raise TimescaleError when ``features`` (non-empty list of names) need the community edition."""
    if features and edition != COMMUNITY:
        raise TimescaleError(unsupported_feature_message(edition, features))


def read_server_state(session):
    """Preload setting, extension versions and edition, read from the server (also in check mode)."""
    row = session.fetch_one(
        "SELECT current_setting('shared_preload_libraries') AS shared_preload_libraries,"
        " current_setting('timescaledb.license', true) AS license,"
        " (SELECT extversion FROM pg_extension WHERE extname = 'timescaledb') AS installed_version,"
        " (SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb') AS available_version"
    )
    return {
        "shared_preload_libraries": row["shared_preload_libraries"],
        "edition": row["license"] or APACHE,
        "installed_version": row["installed_version"],
        "available_version": row["available_version"],
    }


def quote_ident(name):
    """A SQL identifier, always double-quoted (so mixed case and odd names survive)."""
    return '"%s"' % name.replace('"', '""')


def qualified_name(schema, name):
    return "%s.%s" % (quote_ident(schema), quote_ident(name))


def split_relation(name, default_schema):
    """'schema.table' or 'table' -> (schema, table)."""
    if "." in name:
        schema, table = name.split(".", 1)
        return schema, table
    return default_schema, name


def timescale_session(module, autocommit=False):
    """Connect, check the server and return (session, server state); fail clearly otherwise."""
    conn = connect(module, autocommit=autocommit)
    session = SqlSession(module, conn)
    state = read_server_state(session)
    try:
        check_server(state, module.params["login_db"])
    except TimescaleError as exc:
        conn.close()
        module.fail_json(msg=str(exc), timescaledb=state)
    return session, state


def edition_argument_spec():
    """The option of modules that manage community-edition features (doc fragment mantis.datalayer.timescaledb)."""
    return dict(unsupported_edition=dict(type="str", choices=["fail", "skip"], default="fail"))


def refuse_unsupported(module, server, features, **result):
    """Stop before any change when ``features`` need the community edition and the server lacks it.

    With ``unsupported_edition: skip`` the module ends unchanged, with a warning and the
    skipped features in ``skipped_features``; otherwise it fails with the edition message.
    """
    if not features or server["edition"] == COMMUNITY:
        return
    message = unsupported_feature_message(server["edition"], features)
    if module.params["unsupported_edition"] == "skip":
        module.warn("Skipped: " + message)
        module.exit_json(
            changed=False, queries=[], skipped_features=features, msg=message, timescaledb=server, **result
        )
    module.fail_json(msg=message, queries=[], timescaledb=server, **result)


def apply_statements(module, session, statements, failure):
    """Run planned (sql, params) statements in one transaction (recorded only, in check mode).

    On a server error nothing stays changed (unless autocommit) and the module fails with
    ``failure`` followed by the server's own words.
    """
    try:
        for sql, params in statements:
            session.execute(sql, params)
        if not session.conn.autocommit:
            session.conn.commit()
    except Exception as exc:  # psycopg2.Error: the server's message explains it best
        if not session.conn.autocommit:
            session.conn.rollback()
        session.conn.close()
        module.fail_json(msg="%s: %s" % (failure, server_message(exc)), queries=session.queries)


def exit_with_state(module, session, server, changed, key, before, after):
    """End the module with the result every TimescaleDB module returns (and diff in diff mode)."""
    session.conn.close()
    result = {"changed": changed, "queries": session.queries, key: after, "timescaledb": server}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)
