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

import copy
import re

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
    apply_batch(module, session, [(failure, statements)])


def apply_batch(module, session, batches, rolled_back_note=""):
    """Run every item's planned statements in one transaction: ``batches`` is [(failure, statements)].

    The first server error rolls back the whole transaction (every item) and fails with that
    item's ``failure`` text, the server's own words and ``rolled_back_note``.
    Returns the statements recorded per item (rendered SQL), in the order of ``batches``.
    """
    recorded = []
    try:
        for _failure, statements in batches:
            start = len(session.queries)
            for sql, params in statements:
                session.execute(sql, params)
            recorded.append(session.queries[start:])
        if not session.conn.autocommit:
            session.conn.commit()
    except Exception as exc:  # psycopg2.Error: the server's message explains it best
        if not session.conn.autocommit:
            session.conn.rollback()
        session.conn.close()
        module.fail_json(
            msg="%s: %s%s" % (batches[len(recorded)][0], server_message(exc), rolled_back_note),
            queries=session.queries,
        )
    return recorded


def exit_with_state(module, session, server, changed, key, before, after):
    """End the module with the result every TimescaleDB module returns (and diff in diff mode)."""
    session.conn.close()
    result = {"changed": changed, "queries": session.queries, key: after, "timescaledb": server}
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)


# --- List options: one module call for many objects --------------------------------------


def list_option_spec(item_options, **checks):
    """A ``type=list, elements=dict`` option whose entries take the single-object options.

    ``checks`` (required_together, ...) apply inside every entry.
    """
    spec = dict(type="list", elements="dict", options=copy.deepcopy(item_options))
    spec.update(checks)
    return spec


def top_level_options(item_options):
    """The single-object options at the top level: nothing required there (the list may be used instead)."""
    options = copy.deepcopy(item_options)
    for spec in options.values():
        spec.pop("required", None)
    return options


def item_message(list_option, index, message):
    """Name the entry of ``list_option`` an error is about.

    'time_column: no such column' -> 'hypertables[2].time_column: no such column';
    a message that names no option -> 'hypertables[2]: ...'.
    """
    if re.match(r"^[a-z_]+: ", message):
        return "%s[%d].%s" % (list_option, index, message)
    return "%s[%d]: %s" % (list_option, index, message)


def duplicate_message(list_option, option, labels):
    """None, or the error for two entries of ``list_option`` naming the same object (``labels``, in order)."""
    seen = {}
    for index, label in enumerate(labels):
        if label in seen:
            return item_message(
                list_option,
                index,
                "%s: %s is also %s[%d]; list each object once" % (option, label, list_option, seen[label]),
            )
        seen[label] = index
    return None


def read_community_batch(module, session, server, list_option, entries, read, exists, errors):
    """Read every entry of ``list_option`` whose objects need the community edition; [indexes left out].

    ``entries``: dicts with ``state`` and ``feature`` (readable name); ``read(entry)`` returns the
    current state (stored in entry["current"]) or raises one of ``errors``; ``exists(current)`` says
    whether the object is there.
    On another edition an entry that would change something (present, or absent but existing) is
    not applied: with ``unsupported_edition: fail`` the module fails before any change, naming them
    all; with ``skip`` each is warned about and its index returned.
    """
    community = server["edition"] == COMMUNITY
    unsupported = []
    for index, entry in enumerate(entries):
        entry["current"] = None
        if entry["state"] == "present" and not community:
            unsupported.append(index)
            continue
        try:
            entry["current"] = read(entry)
        except errors as exc:
            session.conn.close()
            module.fail_json(msg=item_message(list_option, index, str(exc)), queries=[], timescaledb=server)
        if exists(entry["current"]) and not community:
            unsupported.append(index)
    if unsupported and module.params["unsupported_edition"] == "fail":
        session.conn.close()
        features = [entries[index]["feature"] for index in unsupported]
        module.fail_json(msg=unsupported_feature_message(server["edition"], features), queries=[], timescaledb=server)
    for index in unsupported:
        message = unsupported_feature_message(server["edition"], [entries[index]["feature"]])
        module.warn("Skipped: " + item_message(list_option, index, message))
    return unsupported


def exit_with_results(module, session, server, results, **extra):
    """End a list-mode run: ``results`` has one entry per item (changed, before, after, ...).

    The diff holds every item, keyed by its label (``schema.name``).
    """
    session.conn.close()
    result = {
        "changed": any(entry["changed"] for entry in results),
        "queries": session.queries,
        "results": results,
        "timescaledb": server,
    }
    result.update(extra)
    if module._diff:
        result["diff"] = {
            "before": dict((entry["label"], entry["before"]) for entry in results),
            "after": dict((entry["label"], entry["after"]) for entry in results),
        }
    module.exit_json(**result)
