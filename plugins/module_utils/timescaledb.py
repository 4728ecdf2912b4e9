# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every TimescaleDB module checks before it plans, and the driver the modules share.

TimescaleDB ships in two editions built from one source tree:

* ``apache`` (Apache-2.0): hypertables, time_bucket, chunk management. This is what
  Debian packages (``postgresql-17-timescaledb``).
* ``timescale`` (the "community edition", Timescale License): adds retention,
  compression/columnstore and continuous aggregates. Only Timescale's own package
  repository ships it.

The server reports its edition in ``SHOW timescaledb.license`` (defined only in a database
where the extension is created, which is where the modules read it). On ``apache`` the TSL
functions fail with ``... is not supported under the current "apache" license`` *after*
earlier statements of a run may already have changed things, so the driver checks the
edition of every entry first and fails before it changes anything.

The three modules (hypertables, policies, continuous aggregates) each describe what they
manage in a :class:`TimescaleObjects` subclass; :func:`run_objects` reads, plans and
applies one object or a list of them the same way for all three.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re

from ansible_collections.mantis.datalayer.plugins.module_utils.duration import DurationError
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import (
    SqlSession,
    connect,
    privilege_hint,
    server_message,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import SqlInputError

# TimescaleDB 2.18 renamed compression to columnstore (add_columnstore_policy,
# timescaledb.enable_columnstore, segmentby/orderby); the modules use those names.
MINIMUM_VERSION = (2, 18, 0)

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

    ``state`` is what :func:`read_server_state` returns. The preload list matters only while
    the extension is missing: CREATE EXTENSION needs the library preloaded, and once the
    extension answers queries in this database its library is loaded, whatever the setting
    reads (a server that preloads it through another mechanism reads differently).
    """
    if state["installed_version"] is None:
        if state["shared_preload_libraries"] is not None and "timescaledb" not in preload_libraries(
            state["shared_preload_libraries"]
        ):
            raise TimescaleError(
                "TimescaleDB is not preloaded on this server: shared_preload_libraries is %r. "
                "Add timescaledb to shared_preload_libraries (keeping the libraries already listed), "
                "restart PostgreSQL and create the extension in database %r; "
                "the mantis.datalayer.timescaledb role does all three."
                % (state["shared_preload_libraries"] or "", database)
            )
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


def read_server_state(session):
    """Preload setting, extension versions and edition, read from the server (also in check mode)."""
    row = session.fetch_one(
        # pg_settings hides shared_preload_libraries from roles without pg_read_all_settings (NULL),
        # where current_setting() would fail: it matters only while the extension is missing.
        "SELECT (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries') AS shared_preload_libraries,"
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


def timescale_session(module):
    """Connect, check the server and return (session, server state); fail clearly otherwise."""
    conn = connect(module)
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
            msg="%s: %s%s%s"
            % (batches[len(recorded)][0], server_message(exc), privilege_hint(exc, module.params), rolled_back_note),
            queries=session.queries,
        )
    return recorded


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
    if re.match(r"^[a-z_]+(\[\d+\])?: ", message):
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


# --- The driver: one or many objects per module call ------------------------------------


class PlanError(Exception):
    """An entry that cannot be planned: a bad option, or a change the module refuses to make.

    The message starts with the option it is about (``time_column: ...``) where there is one,
    so that the driver can name the entry of a list (``hypertables[2].time_column: ...``).
    """


class TimescaleObjects:
    """What one TimescaleDB module manages, for :func:`run_objects` to read, plan and apply.

    A module subclasses it and fills in the class attributes and the methods below. Every
    ``desired`` dict the module builds has ``label`` (the object as ``schema.name``), ``state``
    and ``feature``: the object in words when it needs the community edition, else None.
    """

    list_option = None  # the option taking many objects ("hypertables")
    name_option = None  # the option of an entry naming its object ("table"), for duplicate errors
    result_key = None  # the result key of the object when the module manages one ("hypertable")
    noun = None  # the kind of object in words ("hypertable")

    def object_name(self, desired):
        """The object in words, for messages ("hypertable public.sensor_data_raw")."""
        return "%s %s" % (self.noun, desired["label"])

    def desired(self, options, params):
        """The entry's options in the plan's terms; raises PlanError or DurationError."""
        raise NotImplementedError

    def read(self, session, desired):
        """The object as it is on the server (also in check mode); raises PlanError."""
        raise NotImplementedError

    def exists(self, current):
        """Whether ``current`` (what :meth:`read` returned) is an object the edition must support."""
        return current is not None

    def plan(self, current, desired):
        """(actions, after): a pure function, unit-tested without a server; raises PlanError."""
        raise NotImplementedError

    def statements(self, actions, desired):
        """The (sql, params) that carry out ``actions``; they run in one transaction with every entry's."""
        raise NotImplementedError

    def finish(self, session, desired, actions, after):
        """Work after the transaction committed (autocommit; recorded statements only in check mode)."""

    def describe(self, desired, state):
        """``state`` (what :meth:`read` returned, or a plan's ``after``) as returned to the user ({} for none)."""
        raise NotImplementedError

    def describe_before(self, desired, current):
        return self.describe(desired, current)

    def result_fields(self, options, desired, current):
        """Further keys of the entry in ``results`` (the option naming the object, as given, ...)."""
        return {}


def _entry_message(list_option, index, message):
    return message if list_option is None else item_message(list_option, index, message)


def _failure_message(list_option, index, text):
    """A failure told as a sentence: 'policies[2]: changing ...' in a list, 'Changing ...' alone."""
    return item_message(list_option, index, text) if list_option is not None else text[:1].upper() + text[1:]


def run_objects(module, kind):
    """Validate, read and plan every object, then apply all changes in one transaction, and exit.

    With the top-level options (``kind.list_option`` not given) this is a list of one, and the
    result has the object under ``kind.result_key``; with a list, the result has ``results``.
    The edition is checked once, for every entry, before anything changes.
    """
    params = module.params
    listed = params[kind.list_option] is not None
    list_option = kind.list_option if listed else None
    option_sets = params[kind.list_option] if listed else [params]

    def fail(index, message, **extra):
        module.fail_json(msg=_entry_message(list_option, index, message), queries=[], **extra)

    entries = []
    for index, options in enumerate(option_sets):
        try:
            entries.append({"options": options, "desired": kind.desired(options, params), "current": None})
        except (PlanError, DurationError, SqlInputError) as exc:
            fail(index, str(exc))
    if listed:
        duplicate = duplicate_message(kind.list_option, kind.name_option, [e["desired"]["label"] for e in entries])
        if duplicate:
            module.fail_json(msg=duplicate, queries=[])

    session, server = timescale_session(module)

    def fail_closed(index, message):
        session.conn.close()
        fail(index, message, timescaledb=server)

    # Read every entry, and find those the server's edition cannot serve (before any change).
    community = server["edition"] == COMMUNITY
    unsupported = []
    for index, entry in enumerate(entries):
        desired = entry["desired"]
        needs_community = desired["feature"] is not None and not community
        if needs_community and desired["state"] == "present":
            unsupported.append(index)
            continue
        try:
            entry["current"] = kind.read(session, desired)
        except PlanError as exc:
            fail_closed(index, str(exc))
        except Exception as exc:  # psycopg2.Error: a refused read (privileges) says most in the server's words
            message = "reading %s failed: %s%s" % (
                kind.object_name(desired),
                server_message(exc),
                privilege_hint(exc, params),
            )
            fail_closed(index, _failure_message(list_option, index, message))
        if needs_community and kind.exists(entry["current"]):
            unsupported.append(index)
    skipped_features = [entries[index]["desired"]["feature"] for index in unsupported]
    if unsupported:
        if params["unsupported_edition"] == "fail":
            session.conn.close()
            module.fail_json(
                msg=unsupported_feature_message(server["edition"], skipped_features), queries=[], timescaledb=server
            )
        for index in unsupported:
            message = unsupported_feature_message(server["edition"], [entries[index]["desired"]["feature"]])
            module.warn("Skipped: " + _entry_message(list_option, index, message))

    # Plan every entry, then apply them all in one transaction.
    for index, entry in enumerate(entries):
        entry["actions"], entry["after"], entry["skipped"] = [], None, index in unsupported
        if entry["skipped"]:
            continue
        try:
            entry["actions"], entry["after"] = kind.plan(entry["current"], entry["desired"])
        except PlanError as exc:
            fail_closed(index, str(exc))
    batches = []
    for index, entry in enumerate(entries):
        failure = _failure_message(list_option, index, "changing %s failed" % kind.object_name(entry["desired"]))
        batches.append((failure, kind.statements(entry["actions"], entry["desired"])))
    recorded = apply_batch(
        module, session, batches, " (the whole batch was rolled back; nothing was changed)" if listed else ""
    )

    # Work that cannot run inside the transaction, entry by entry.
    session.conn.autocommit = True
    for index, entry in enumerate(entries):
        if entry["skipped"] or not entry["actions"]:
            continue
        start = len(session.queries)
        try:
            kind.finish(session, entry["desired"], entry["actions"], entry["after"])
        except Exception as exc:  # psycopg2.Error: the server's message explains it best
            session.conn.close()
            module.fail_json(
                msg=_failure_message(
                    list_option,
                    index,
                    "%s was changed, but the work after it failed: %s"
                    % (kind.object_name(entry["desired"]), server_message(exc)),
                ),
                queries=session.queries,
                timescaledb=server,
            )
        recorded[index] = recorded[index] + session.queries[start:]

    results = []
    for index, entry in enumerate(entries):
        desired, skipped = entry["desired"], entry["skipped"]
        result = {
            "label": desired["label"],
            "changed": bool(entry["actions"]),
            "skipped": skipped,
            "queries": recorded[index],
            "before": {} if entry["current"] is None else kind.describe_before(desired, entry["current"]),
            "after": {} if skipped else kind.describe(desired, entry["after"]),
        }
        result.update(kind.result_fields(entry["options"], desired, entry["current"]))
        results.append(result)
    session.conn.close()
    exit_with_results(module, kind, server, results, listed, skipped_features)


def exit_with_results(module, kind, server, results, listed, skipped_features):
    """End the run: ``results`` has one entry per object (changed, before, after, ...)."""
    result = {"changed": any(entry["changed"] for entry in results), "timescaledb": server}
    if skipped_features:
        result["skipped_features"] = skipped_features
    if listed:
        result["queries"] = [query for entry in results for query in entry["queries"]]
        result["results"] = results
        before = dict((entry["label"], entry["before"]) for entry in results)
        after = dict((entry["label"], entry["after"]) for entry in results)
    else:
        (entry,) = results
        result["queries"] = entry["queries"]
        # A skipped object is reported as it is (what it would have been is unknown).
        after = entry["before"] if entry["skipped"] else entry["after"]
        before = entry["before"]
        result[kind.result_key] = after
        if skipped_features:
            result["msg"] = unsupported_feature_message(server["edition"], skipped_features)
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    module.exit_json(**result)
