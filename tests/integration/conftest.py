"""Fixtures for integration tests: real servers in throwaway systemd test hosts, and the
TimescaleDB community edition in PGlite (WebAssembly), which needs no Docker."""

from __future__ import annotations

import os

import pytest

from tests.support.containers import docker_available
from tests.support.pglite import PGliteUnavailable, start_pglite
from tests.support.servers import start_postgres, start_redis


def _name(kind: str) -> str:
    # The pid keeps two test runs (or two helpers) on one machine apart.
    return f"mantis-it-{kind}-{os.getpid()}"


def _require_docker():
    if not docker_available():
        pytest.fail("no Docker engine answers: run the integration tests with `make integration`")


def _serve(start, kind):
    _require_docker()
    server = start(_name(kind))
    try:
        yield server
    finally:
        server.host.remove()


@pytest.fixture(scope="session")
def postgres():
    yield from _serve(start_postgres, "postgres")


@pytest.fixture(scope="session")
def redis_server():
    yield from _serve(start_redis, "redis")


@pytest.fixture(scope="session")
def pglite():
    """TimescaleDB community edition in PGlite (WebAssembly), on a loopback port; no Docker.

    A real TSL engine (`timescaledb.license` = `timescale`, the extension created) for
    what Debian's Apache edition refuses: retention and columnstore policies, continuous
    aggregates. One connection at a time, one database, no background workers; see
    tests/support/pglite.py. Shared by the whole session: name your objects uniquely.
    """
    try:
        server = start_pglite()
    except PGliteUnavailable as error:
        pytest.fail(str(error))
    try:
        yield server
    finally:
        server.stop()
