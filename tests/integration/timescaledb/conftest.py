"""A database of its own per test module, with TimescaleDB created in it, on the shared server."""

from __future__ import annotations

import re
from dataclasses import dataclass

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
