#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, MANTIS data layer team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: postgresql_migrations
short_description: Apply versioned SQL migrations to a PostgreSQL database
version_added: 0.1.0
description:
  - Applies SQL migrations, in the order of their version number, to a database and records each
    applied file with its SHA-256 checksum in a migrations table. The migrations are the files of
    a directory on the managed host (O(path)) or are given inline (O(migrations)), for example read
    on the controller with a lookup, which spares copying them to the host first.
  - Every pending file runs in its own transaction together with the row that records it, so a
    file is either applied and recorded or not applied at all.
  - A file that fails is rolled back and reported with its file name and the server's message;
    the files applied before it in the same run stay applied.
  - A file that was applied earlier and whose content changed since stops the run with an error
    before anything is changed. Applied migrations are never rolled back or re-run.
  - Runs hold a transaction-level advisory lock keyed on the migrations table, so two runs
    against the same database at the same time cannot apply the same file twice.
options:
  path:
    description:
      - Directory on the host that runs the module (the managed host) holding the migrations.
      - Migration files are named C(<version>_<name>.sql), for example C(001_extensions.sql);
        the version is the leading number and sets the order (C(2_x.sql) runs before C(10_y.sql)).
      - Files not ending in C(.sql) are ignored. A C(.sql) file without a numeric prefix, or two
        files with the same version, fail the run with an error naming the files.
      - A file must not contain transaction control (C(BEGIN), C(COMMIT)) or statements that
        cannot run inside a transaction (C(CREATE INDEX CONCURRENTLY), C(VACUUM)).
      - Exactly one of O(path) and O(migrations) is required.
    type: path
  migrations:
    description:
      - The migrations themselves, as a mapping of file name to SQL text, for example built on
        the controller from C(lookup('ansible.builtin.fileglob', ...)) and
        C(lookup('ansible.builtin.file', ..., rstrip=false)).
      - Names follow the same rules as the files of O(path) (C(<version>_<name>.sql)); the
        checksum is that of the UTF-8 text, so a migration applied from a file and later given
        inline with the same content counts as the same migration. Keep the text exactly as in
        the file (the C(file) lookup strips trailing whitespace unless told C(rstrip=false)).
      - Exactly one of O(path) and O(migrations) is required.
    type: dict
  table:
    description:
      - Table that records the applied migrations, as C(name) (in schema C(public)) or
        C(schema.name). It is created on the first run that applies a migration.
      - The same database can hold several independent migration histories in different tables.
      - Names follow PostgreSQL's rules, as in SQL; unquoted parts fold to lower case (C(Audit.History) is
        C(audit.history)); quote a part to keep its case or to use other characters (C('"Audit Log".history')).
    type: str
    default: schema_migrations
  target:
    description:
      - Apply migrations up to and including this version only (0 or more). Later files stay pending.
      - Omit to apply every pending migration.
    type: int
  allow_out_of_order:
    description:
      - A pending file whose version is lower than the highest applied version usually means a
        migration was added in the wrong place, so by default the run fails and names the file.
      - Set to V(true) to apply such files anyway (in version order).
    type: bool
    default: false
  session_role:
    description:
      - Role to switch to (C(SET ROLE)) after connecting, so that the objects the migrations
        create (and the migrations table) are owned by it, typically the database owner.
      - O(login_user) must be a member of this role (or a superuser).
    type: str
extends_documentation_fragment:
  - mantis.datalayer.postgres
attributes:
  check_mode:
    support: full
    description: Lists the pending migrations in RV(pending) and RV(queries); nothing is run.
  diff_mode:
    support: full
    description: C(before) holds the applied migrations, C(after) the applied and the pending ones.
seealso:
  - name: PostgreSQL advisory locks
    description: How the lock that serialises concurrent runs works.
    link: https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
author:
  - MANTIS data layer team (@mantis-datalayer)
"""

EXAMPLES = r"""
- name: Apply the MANTIS metadata schema as the database owner
  mantis.datalayer.postgresql_migrations:
    login_db: mantis
    path: /var/lib/postgresql/mantis-migrations/mantis
    session_role: mantis
  become: true
  become_user: postgres

- name: Apply migrations kept beside the playbook, without copying them to the host
  mantis.datalayer.postgresql_migrations:
    login_db: mantis
    migrations: >-
      {{ dict(files | map('basename')
         | zip(lookup('ansible.builtin.file', *files, rstrip=false, wantlist=true))) }}
    session_role: mantis
  vars:
    files: "{{ query('ansible.builtin.fileglob', playbook_dir ~ '/migrations/*.sql') }}"
  become: true
  become_user: postgres

- name: Apply migrations up to version 3 over TCP, with their own history table
  mantis.datalayer.postgresql_migrations:
    login_host: db1.plant.local
    login_user: mantis
    login_password: "{{ vault_mantis_password }}"
    login_db: mantis
    path: /opt/mantis/migrations
    table: audit.schema_migrations
    target: 3

- name: Show what would be applied without touching the database
  mantis.datalayer.postgresql_migrations:
    login_db: mantis
    path: /var/lib/postgresql/mantis-migrations/mantis
  check_mode: true
  diff: true
  register: plan
"""

RETURN = r"""
applied:
  description:
    - File names of the migrations this run applied, in order. Empty in check mode.
    - When a migration fails, the ones applied before it in the same run.
  returned: always
  type: list
  elements: str
  sample: [003_triggers_indexes.sql]
pending:
  description:
    - File names of the migrations that were not applied when the run started (within
      O(target)), in the order they are (or in check mode would be) applied.
  returned: always
  type: list
  elements: str
  sample: [003_triggers_indexes.sql]
queries:
  description:
    - The statements this run executed (or in check mode would execute) to change the database.
    - The content of a migration file is represented by a comment line naming the file
      (C(-- 003_triggers_indexes.sql)), followed by the statement that records it.
  returned: always
  type: list
  elements: str
  sample:
    - "-- 003_triggers_indexes.sql"
    - >-
      INSERT INTO "public"."schema_migrations" (version, name, checksum)
      VALUES (3, '003_triggers_indexes.sql', '9f86d0...')
version:
  description: Highest applied version after the run (in check mode, the version the run would reach); null when none.
  returned: always
  type: int
  sample: 3
"""

import hashlib
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.mantis.datalayer.plugins.module_utils.postgres import (
    SqlSession,
    connect,
    postgres_argument_spec,
    privilege_hint,
    server_message,
)
from ansible_collections.mantis.datalayer.plugins.module_utils.sql_input import SqlInputError, parse_qualified_name

try:
    from psycopg2 import Error as DatabaseError
    from psycopg2 import sql as pgsql
except ImportError:
    # connect() reports the missing library.
    DatabaseError = Exception
    pgsql = None

MIGRATION_FILE = re.compile(r"^(\d+)_([^/]+)\.sql$")


class MigrationError(Exception):
    """A problem with the migrations themselves; nothing has been changed."""


def order_migrations(names, where):
    """Migration names as dicts (version, name), ordered by version; `where` names their origin in errors."""
    found = {}
    for name in sorted(names):
        match = MIGRATION_FILE.match(name)
        if not match:
            raise MigrationError(
                "migration file %s in %s is not named <version>_<name>.sql (for example 001_extensions.sql)"
                % (name, where)
            )
        version = int(match.group(1))
        if version in found:
            raise MigrationError(
                "migration files %s and %s in %s have the same version %d"
                % (found[version]["name"], name, where, version)
            )
        found[version] = dict(version=version, name=name)
    return [found[v] for v in sorted(found)]


def migration_files(path):
    """The migration files of `path` as dicts (version, name, path), ordered by version."""
    if not os.path.isdir(path):
        raise MigrationError("path %s is not a directory" % path)
    files = order_migrations([name for name in os.listdir(path) if name.endswith(".sql")], path)
    for item in files:
        item["path"] = os.path.join(path, item["name"])
    return files


def inline_migrations(migrations):
    """The O(migrations) mapping (file name -> SQL text) as dicts (version, name, content, checksum)."""
    items = order_migrations(migrations, "migrations")
    for item in items:
        content = migrations[item["name"]]
        if not isinstance(content, str):
            raise MigrationError("migrations: the value of %s must be the SQL text of the migration" % item["name"])
        item["content"] = content
        item["checksum"] = file_checksum(content.encode("utf-8"))
    return items


def file_checksum(content):
    return hashlib.sha256(content).hexdigest()


def plan_migrations(files, applied, target=None, allow_out_of_order=False):
    """Decide which files to apply.

    files: dicts with version, name, checksum (all files of the directory).
    applied: dicts with version, name, checksum (the rows of the migrations table).
    Returns the files to apply, in order. Raises MigrationError, before anything runs,
    when an applied file changed or a pending file sorts before an applied one.
    """
    applied_by_version = dict((row["version"], row) for row in applied)
    changed = [
        "%s (recorded as %s, sha256 %s; file now has sha256 %s)"
        % (
            f["name"],
            applied_by_version[f["version"]]["name"],
            applied_by_version[f["version"]]["checksum"],
            f["checksum"],
        )
        for f in files
        if f["version"] in applied_by_version and applied_by_version[f["version"]]["checksum"] != f["checksum"]
    ]
    if changed:
        raise MigrationError(
            "applied migrations changed since they were applied: %s. Applied migrations must not be edited; "
            "restore the original files and put the change in a new migration. Nothing was changed."
            % "; ".join(changed)
        )
    pending = [f for f in files if f["version"] not in applied_by_version]
    if target is not None:
        pending = [f for f in pending if f["version"] <= target]
    if applied and pending and not allow_out_of_order:
        newest = max(applied, key=lambda row: row["version"])
        early = [f["name"] for f in pending if f["version"] < newest["version"]]
        if early:
            raise MigrationError(
                "migrations %s are not applied but the newer migration %s already is; give them a version above %d "
                "or set allow_out_of_order=true. Nothing was changed."
                % (", ".join(early), newest["name"], newest["version"])
            )
    return pending


def split_table_name(table):
    """(schema, name) of the table option, by PostgreSQL's rules (module_utils/sql_input.py)."""
    try:
        return parse_qualified_name(table, "public", "table")
    except SqlInputError as exc:
        raise MigrationError(str(exc)) from None


def check_target(target):
    if target is not None and target < 0:
        raise MigrationError("target: %d is not a migration version; versions are 0 or more" % target)


class MigrationRunner:
    """Reads the applied migrations and applies pending files, one transaction each."""

    def __init__(self, module, session, schema, table):
        self.module = module
        self.session = session
        self.schema = schema
        self.table = table
        ident = pgsql.Identifier
        self.qualified = pgsql.SQL("{}.{}").format(ident(schema), ident(table)).as_string(session.conn)
        self.lock_key = "mantis.datalayer.postgresql_migrations:%s.%s" % (schema, table)

    def table_exists(self):
        return self.session.fetch_value("SELECT to_regclass(%s) IS NOT NULL", (self.qualified,))

    def applied(self):
        if not self.table_exists():
            return []
        return self.session.fetch_all("SELECT version, name, checksum FROM %s ORDER BY version" % self.qualified)

    def create_table_sql(self):
        return (
            "CREATE TABLE IF NOT EXISTS %s (version bigint PRIMARY KEY, name text NOT NULL, "
            "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())" % self.qualified
        )

    def apply(self, migration, create_table):
        """Apply one file and record it in one transaction; returns False if another run applied it first."""
        session = self.session
        conn = session.conn
        if not self.module.check_mode:
            # Held until this transaction ends: a concurrent run waits here and then sees the row.
            session.fetch_value("SELECT pg_advisory_xact_lock(hashtext(%s))", (self.lock_key,))
        if create_table:
            session.execute(self.create_table_sql())
        if not self.module.check_mode:
            row = session.fetch_one(
                "SELECT name, checksum FROM %s WHERE version = %%s" % self.qualified, (migration["version"],)
            )
            if row is not None:
                conn.rollback()
                if row["checksum"] != migration["checksum"]:
                    raise MigrationError(
                        "%s was applied by a concurrent run with a different checksum (%s)"
                        % (migration["name"], row["checksum"])
                    )
                return False
        session.queries.append("-- %s" % migration["name"])
        if not self.module.check_mode:
            with conn.cursor() as cur:
                cur.execute(migration["content"])
        session.execute(
            "INSERT INTO %s (version, name, checksum) VALUES (%%s, %%s, %%s)" % self.qualified,
            (migration["version"], migration["name"], migration["checksum"]),
        )
        if not self.module.check_mode:
            conn.commit()
        return True


def read_files(path):
    files = migration_files(path)
    for item in files:
        with open(item["path"], "rb") as handle:
            raw = handle.read()
        item["checksum"] = file_checksum(raw)
        try:
            item["content"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MigrationError("migration file %s is not UTF-8 text" % item["name"]) from None
    return files


def main():
    argument_spec = postgres_argument_spec()
    argument_spec.update(
        path=dict(type="path"),
        migrations=dict(type="dict"),
        table=dict(type="str", default="schema_migrations"),
        target=dict(type="int"),
        allow_out_of_order=dict(type="bool", default=False),
        session_role=dict(type="str"),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        mutually_exclusive=[("path", "migrations")],
        required_one_of=[("path", "migrations")],
    )
    params = module.params
    result = dict(changed=False, applied=[], pending=[], queries=[], version=None)

    try:
        schema, table = split_table_name(params["table"])
        check_target(params["target"])
        if params["migrations"] is not None:
            files = inline_migrations(params["migrations"])
        else:
            files = read_files(params["path"])
    except MigrationError as exc:
        module.fail_json(msg=str(exc), **result)

    conn = connect(module, autocommit=False)
    session = SqlSession(module, conn)
    result["queries"] = session.queries
    try:
        if params["session_role"]:
            with conn.cursor() as cur:
                cur.execute(pgsql.SQL("SET ROLE {}").format(pgsql.Identifier(params["session_role"])))
            # Committed so that the rollbacks below keep the role for the whole session.
            conn.commit()
    except DatabaseError as exc:
        conn.close()
        module.fail_json(
            msg="session_role: cannot switch to %s: %s%s"
            % (params["session_role"], server_message(exc), privilege_hint(exc, params)),
            **result,
        )
    try:
        runner = MigrationRunner(module, session, schema, table)
        applied = runner.applied()
        table_missing = not runner.table_exists()
        conn.rollback()
        pending = plan_migrations(files, applied, params["target"], params["allow_out_of_order"])
    except MigrationError as exc:
        conn.close()
        module.fail_json(msg=str(exc), **result)
    except DatabaseError as exc:
        conn.close()
        module.fail_json(
            msg="table: cannot read the applied migrations from %s: %s%s"
            % (params["table"], server_message(exc), privilege_hint(exc, params)),
            **result,
        )

    applied_names = [row["name"] for row in applied]
    result["pending"] = [f["name"] for f in pending]
    versions = [row["version"] for row in applied] + [f["version"] for f in pending]
    result["version"] = max(versions) if versions else None
    if module._diff:
        result["diff"] = dict(before=dict(applied=applied_names), after=dict(applied=applied_names + result["pending"]))

    for migration in pending:
        try:
            if runner.apply(migration, create_table=table_missing):
                result["changed"] = True
                if not module.check_mode:
                    result["applied"].append(migration["name"])
            table_missing = False
        except MigrationError as exc:
            conn.close()
            module.fail_json(msg=str(exc), **result)
        except DatabaseError as exc:
            conn.rollback()
            conn.close()
            result["failed_migration"] = migration["name"]
            module.fail_json(
                msg="%s: migration %s failed and was rolled back: %s%s%s"
                % (
                    "migrations" if params["migrations"] is not None else "path",
                    migration["name"],
                    server_message(exc),
                    privilege_hint(exc, params),
                    " (migrations applied before it in this run stay applied: %s)" % ", ".join(result["applied"])
                    if result["applied"]
                    else "",
                ),
                **result,
            )
    conn.rollback()
    conn.close()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
