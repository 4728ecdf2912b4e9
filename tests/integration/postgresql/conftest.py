"""Fixtures for the PostgreSQL module tests: a throwaway database per test."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


@pytest.fixture
def database(postgres):
    """A fresh, empty database on the shared test server, dropped after the test."""
    name = f"mig_{os.getpid()}_{next(_counter)}"
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        postgres.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
