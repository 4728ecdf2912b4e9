"""TimescaleDB databases for the module tests.

`tsdb`: a database of its own per test module, with TimescaleDB created in it, on the shared
Debian server (the Apache edition). `community`: the TimescaleDB community edition in
PGlite (WebAssembly), emptied before each test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg2.extensions
import pytest

from tests.support.ansible_runner import run_module


@dataclass
class TimescaleDatabase:
    server: object
    name: str

    def sql(self, statement: str) -> str:
        return self.server.psql(statement, database=self.name)

    @property
    def license(self) -> str:
        return self.sql("SHOW timescaledb.license")

    def run(self, module: str, args: dict, check: bool = False, diff: bool = False):
        full = {**self.server.login, "login_db": self.name, **args}
        run = run_module("mantis.datalayer." + module, full, check=check, diff=diff)
        # Secrets never leave the module, whatever happened.
        assert self.server.password not in run.output
        return run


def _database_for(request, postgres, extension: bool = True) -> TimescaleDatabase:
    name = "it_" + re.sub(r"[^a-z0-9]+", "_", request.module.__name__.rsplit(".", 1)[-1].lower())
    postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    postgres.psql(f"CREATE DATABASE {name}")
    database = TimescaleDatabase(server=postgres, name=name)
    if extension:
        database.sql("CREATE EXTENSION timescaledb")
    return database


@pytest.fixture(scope="module")
def tsdb(request, postgres):
    database = _database_for(request, postgres)
    yield database
    postgres.psql(f"DROP DATABASE IF EXISTS {database.name} WITH (FORCE)")


@pytest.fixture
def apache_edition(tsdb):
    if tsdb.license != "apache":
        pytest.skip(f"tests the Apache-edition error path; this server runs {tsdb.license!r}")
    return tsdb


@dataclass
class CommunityDatabase:
    """The TimescaleDB community edition in PGlite, with the interface of TimescaleDatabase."""

    server: object

    def sql(self, statement: str) -> str:
        """The result as `psql -At` prints it: the server's own text, `|` between columns."""
        connection = self.server.connect(autocommit=True)
        # Every type psycopg2 would convert comes back as the text the server sent.
        as_text = psycopg2.extensions.new_type(
            tuple(psycopg2.extensions.string_types), "AS_TEXT", lambda value, _cursor: value
        )
        psycopg2.extensions.register_type(as_text, connection)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
                rows = cursor.fetchall() if cursor.description is not None else []
        finally:
            connection.close()
        return "\n".join("|".join("" if value is None else value for value in row) for row in rows)

    @property
    def license(self) -> str:
        return self.sql("SHOW timescaledb.license")

    def run(self, module: str, args: dict, check: bool = False, diff: bool = False):
        run = run_module("mantis.datalayer." + module, {**self.server.login, **args}, check=check, diff=diff)
        assert self.server.login["login_password"] not in run.output
        return run


@pytest.fixture
def community(pglite):
    """The community edition with no table, view or policy job left by an earlier test.

    The extension lives in schema public, so the objects are dropped one by one (continuous
    aggregates first, their policies with them), not the schema; tests use schema public only.
    """
    database = CommunityDatabase(server=pglite)
    aggregates = database.sql(
        "SELECT format('%I.%I', view_schema, view_name) FROM timescaledb_information.continuous_aggregates"
    )
    for name in filter(None, aggregates.split("\n")):
        database.sql(f"DROP MATERIALIZED VIEW {name} CASCADE")
    # Views on the tables (and the extension's own tables, also in public) go with CASCADE / stay.
    tables = database.sql(
        "SELECT c.oid::regclass FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
        " AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM pg_depend d"
        " WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')"
    )
    for name in filter(None, tables.split("\n")):
        database.sql(f"DROP TABLE IF EXISTS {name} CASCADE")
    database.sql("SELECT count(delete_job(job_id)) FROM timescaledb_information.jobs WHERE job_id >= 1000")
    return database
