# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection, argument spec and SQL recording shared by the PostgreSQL/TimescaleDB modules.

Modules follow read -> plan -> apply: they read the catalog with :meth:`SqlSession.fetch_all`
(always executed, also in check mode) and change it with :meth:`SqlSession.execute`,
which records every statement in ``queries`` and runs it only outside check mode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

PSYCOPG2_IMPORT_ERROR = None
try:
    import psycopg2
    import psycopg2.extras
except ImportError:
    psycopg2 = None
    PSYCOPG2_IMPORT_ERROR = traceback.format_exc()


def postgres_argument_spec():
    """Connection options shared by every SQL module (documented in doc_fragments/postgres.py)."""
    return dict(
        login_host=dict(type="str", default=""),
        login_port=dict(type="int", default=5432),
        login_user=dict(type="str", default="postgres"),
        login_password=dict(type="str", default="", no_log=True),
        login_unix_socket=dict(type="str", default=""),
        login_db=dict(type="str", required=True, aliases=["db", "database"]),
        ssl_mode=dict(
            type="str",
            default="prefer",
            choices=["allow", "disable", "prefer", "require", "verify-ca", "verify-full"],
        ),
        ca_cert=dict(type="path", aliases=["ssl_rootcert"]),
        connect_timeout=dict(type="int", default=10),
    )


def connection_description(params):
    """Where the module connects, for error messages (never includes the password)."""
    if params.get("login_host"):
        where = "%s:%s" % (params["login_host"], params["login_port"])
    else:
        where = "unix socket %s (port %s)" % (params.get("login_unix_socket") or "default", params["login_port"])
    return "database %r on %s as %r" % (params["login_db"], where, params["login_user"])


def connect(module, autocommit=False):
    """Open a psycopg2 connection from the module's connection options or fail clearly."""
    if psycopg2 is None:
        module.fail_json(msg=missing_required_lib("psycopg2"), exception=PSYCOPG2_IMPORT_ERROR)
    params = module.params
    kwargs = dict(
        dbname=params["login_db"],
        user=params["login_user"],
        port=params["login_port"],
        sslmode=params["ssl_mode"],
        connect_timeout=params["connect_timeout"],
        application_name="mantis.datalayer",
    )
    host = params["login_host"] or params["login_unix_socket"]
    if host:
        kwargs["host"] = host
    if params["login_password"]:
        kwargs["password"] = params["login_password"]
    if params.get("ca_cert"):
        kwargs["sslrootcert"] = params["ca_cert"]
    try:
        conn = psycopg2.connect(**kwargs)
    except psycopg2.OperationalError as exc:
        reason = _first_line(exc)
        module.fail_json(
            msg="%sCannot connect to %s: %s"
            % (connection_options_at_fault(reason), connection_description(params), reason)
        )
    conn.autocommit = autocommit
    return conn


# libpq's and the server's words for a refused connection -> the options that decide it.
CONNECTION_FAULTS = (
    ("password authentication failed", "login_user, login_password"),
    ("no password supplied", "login_password"),
    ('role "', "login_user"),
    ("no pg_hba.conf entry", "login_user, login_host (pg_hba.conf)"),
    ('database "', "login_db"),
    ("connection refused", "login_host, login_port"),
    ("timeout expired", "login_host, login_port, connect_timeout"),
    ("could not translate host name", "login_host"),
    ("no such file or directory", "login_unix_socket, login_port"),
    ("ssl", "ssl_mode, ca_cert"),
    ("certificate", "ssl_mode, ca_cert"),
)


def connection_options_at_fault(reason):
    """'login_user, login_password: ' for a refused password; '' when the reason names no option."""
    lowered = reason.lower()
    for words, options in CONNECTION_FAULTS:
        if words in lowered:
            return options + ": "
    return ""


def privilege_hint(exc, params):
    """A hint naming login_user when the server refused a statement for lack of a privilege."""
    if getattr(exc, "pgcode", None) == "42501":  # insufficient_privilege
        return (
            " (login_user %r lacks the privilege: connect as the object's owner or a superuser, "
            "or grant it)" % params.get("login_user")
        )
    return ""


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else exc.__class__.__name__


def server_message(exc):
    """The server's own error text for a failed statement (message and detail/hint)."""
    diag = getattr(exc, "diag", None)
    parts = []
    if diag is not None and diag.message_primary:
        parts.append(diag.message_primary)
        for extra in (diag.message_detail, diag.message_hint):
            if extra:
                parts.append(extra)
    else:
        parts.append(_first_line(exc))
    return " ".join(parts)


class SqlSession:
    """Reads always; writes recorded in ``queries`` and executed only outside check mode."""

    def __init__(self, module, conn):
        self.module = module
        self.conn = conn
        self.queries = []

    def fetch_all(self, sql, params=None):
        with self.conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
            cur.execute(sql, params)
            return [dict(row) for row in cur.fetchall()]

    def fetch_one(self, sql, params=None):
        rows = self.fetch_all(sql, params)
        return rows[0] if rows else None

    def fetch_value(self, sql, params=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
            return row[0] if row else None

    def render(self, sql, params=None):
        with self.conn.cursor() as cur:
            text = cur.mogrify(sql, params)
        return text.decode("utf-8") if isinstance(text, bytes) else text

    def execute(self, sql, params=None):
        """Record a change and run it unless in check mode."""
        self.queries.append(self.render(sql, params))
        if self.module.check_mode:
            return
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
