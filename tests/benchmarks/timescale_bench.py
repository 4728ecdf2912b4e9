"""Compression and continuous-aggregate figures of the role's defaults, in the community edition.

    make bench-timescale   (or: python -m tests.benchmarks.timescale_bench [--days 10 --sensors 50])

Measured in the TimescaleDB community edition in PGlite (WebAssembly, TimescaleDB 2.23;
tests/support/pglite.py), the only community-edition engine that runs here: Debian's
package is the Apache edition, which has neither compression nor continuous aggregates.
WebAssembly runs slower than the packaged server, so the absolute times are not the
server's; each figure is a ratio within the same engine and run.

The schema is made by the collection's own modules with the timescaledb role's defaults
(roles/timescaledb/defaults/main.yml): sensor_data_raw with its columnstore settings
(segmentby, orderby) and the continuous aggregate sensor_data_hourly. The data is
synthetic but shaped like plant sensors: 50 sensors on 10 assets, one reading every 10 s
for 10 days, each a smooth daily cycle plus noise, at the 0.01 resolution a sensor
reports, quality and status nearly constant.

Figures:
6. compression: on-disk size of sensor_data_raw before and after converting every chunk
   to the columnstore, as % saved;                                       target >= 90 %
7. the seed's dashboard query (hourly averages per sensor over the last 7 days) on
   sensor_data_hourly vs the same aggregation over sensor_data_raw, as a ratio of the
   median times of five runs each, with the data as the role's policies leave it (the
   aggregate refreshed, chunks older than 7 days compressed);            target >= 100x
   7b: the same two queries with their rows counted inside the engine, which leaves out
   the cost of sending rows out of PGlite (a cost of the engine, not of the aggregate).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import yaml

from tests.support.ansible_runner import REPO_ROOT, run_module
from tests.support.pglite import start_pglite

DEFAULTS = REPO_ROOT / "roles" / "timescaledb" / "defaults" / "main.yml"
RAW_DASHBOARD = (
    "SELECT time_bucket('1 hour', time) AS bucket, sensor_id, avg(value) AS avg_value FROM sensor_data_raw"
    " WHERE time > now() - interval '7 days' GROUP BY bucket, sensor_id"
)
HOURLY_DASHBOARD = (
    "SELECT bucket, sensor_id, avg_value FROM sensor_data_hourly WHERE bucket > now() - interval '7 days'"
)

# The same query with its rows counted in the engine instead of sent to the client: PGlite
# sends rows through WebAssembly, JavaScript and a socket at a cost a packaged server does not
# have (about 30 ms for the 8,400 rows of the 7-day dashboard).
IN_ENGINE = "SELECT count(*) FROM (%s) AS dashboard"


def role_defaults() -> tuple[dict, dict]:
    """sensor_data_raw and sensor_data_hourly as the timescaledb role's defaults define them."""
    defaults = yaml.safe_load(DEFAULTS.read_text())
    raw = next(t for t in defaults["timescaledb_hypertables"] if t["name"] == "sensor_data_raw")
    hourly = next(a for a in defaults["timescaledb_continuous_aggregates"] if a["name"] == "sensor_data_hourly")
    return raw, hourly


def provision(server, raw: dict, hourly: dict) -> None:
    """The role's schema calls for one table and one aggregate, through the collection's modules."""
    calls = [
        (
            "timescale_hypertable",
            {
                "table": raw["name"],
                "columns": raw["columns"],
                "time_column": raw["time_column"],
                "chunk_time_interval": raw["chunk_time_interval"],
            },
        ),
        (
            "timescale_policy",
            {
                "relation": raw["name"],
                "policy": "compression",
                "compress_after": raw["compression"]["after"],
                "segmentby": raw["compression"]["segmentby"],
                "orderby": raw["compression"]["orderby"],
            },
        ),
        (
            "timescale_continuous_aggregate",
            {"name": hourly["name"], "query": hourly["query"], "materialized_only": hourly["materialized_only"]},
        ),
    ]
    for module, args in calls:
        run = run_module("mantis.datalayer." + module, {**server.login, **args})
        if run.failed:
            raise SystemExit(f"bench: {module} failed:\n{run.output[-4000:]}")


def load_readings(server, days: int, sensors: int) -> int:
    """Synthetic plant readings, generated inside the engine; returns the row count."""
    server.sql(
        f"""
        INSERT INTO sensor_data_raw (time, asset_id, sensor_id, sensor_type, value, quality, status)
        SELECT t,
               md5('asset' || (s % 10))::uuid,
               md5('sensor' || s)::uuid,
               (ARRAY['vibration', 'temperature', 'pressure', 'current', 'speed'])[s % 5 + 1],
               round((50 + s + 10 * sin(2 * pi() * extract(epoch FROM t) / 86400 + s)
                      + (random() - 0.5))::numeric, 2)::double precision,
               CASE WHEN random() < 0.001 THEN 1 ELSE 0 END,
               CASE WHEN random() < 0.001 THEN 'warning' ELSE 'ok' END
        FROM generate_series(now() - interval '{days} days', now(), interval '10 seconds') AS t,
             generate_series(1, {sensors}) AS s
        """
    )
    return int(server.value("SELECT count(*) FROM sensor_data_raw"))


def table_bytes(server) -> int:
    return int(server.value("SELECT sum(total_bytes) FROM hypertable_detailed_size('sensor_data_raw')"))


def median_seconds(server, query: str, runs: int = 5) -> float:
    times = []
    connection = server.connect(autocommit=True)
    try:
        with connection.cursor() as cursor:
            # PGlite starts with enable_seqscan off; a PostgreSQL server's default is on.
            cursor.execute("SET enable_seqscan = on")
            cursor.execute(query)  # warm the caches once
            cursor.fetchall()
            for _run in range(runs):
                start = time.perf_counter()
                cursor.execute(query)
                cursor.fetchall()
                times.append(time.perf_counter() - start)
    finally:
        connection.close()
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--sensors", type=int, default=50)
    args = parser.parse_args()
    raw, hourly = role_defaults()

    with tempfile.TemporaryDirectory(prefix="mantis-bench-pglite-") as data_dir, start_pglite(
        data_dir=data_dir
    ) as server:
        provision(server, raw, hourly)
        start = time.monotonic()
        rows = load_readings(server, args.days, args.sensors)
        loaded_in = time.monotonic() - start
        # As in production with the role's defaults: the refresh policy has materialized the
        # aggregate, and the columnstore policy has compressed the chunks older than 7 days.
        server.sql("CALL refresh_continuous_aggregate('sensor_data_hourly', NULL, NULL)")
        job = server.value("SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'")
        server.sql(f"CALL run_job({job})")
        raw_seconds = median_seconds(server, RAW_DASHBOARD)
        hourly_seconds = median_seconds(server, HOURLY_DASHBOARD)
        raw_in_engine = median_seconds(server, IN_ENGINE % RAW_DASHBOARD)
        hourly_in_engine = median_seconds(server, IN_ENGINE % HOURLY_DASHBOARD)
        # Then every chunk, for the size the columnstore saves.
        server.sql("SELECT count(decompress_chunk(chunk, true)) FROM show_chunks('sensor_data_raw') AS chunk")
        before = table_bytes(server)
        start = time.monotonic()
        server.sql("SELECT count(compress_chunk(chunk)) FROM show_chunks('sensor_data_raw') AS chunk")
        compressed_in = time.monotonic() - start
        after = table_bytes(server)
        version = server.value("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")

    saved = 100 * (1 - after / before)
    print(f"MANTIS TimescaleDB benchmark (TimescaleDB {version} community edition in PGlite, this machine)")
    print(
        f"data: {rows:,} rows ({args.sensors} sensors, {args.days} days at 10 s), loaded in {loaded_in:.0f} s,"
        f" compressed in {compressed_in:.0f} s"
    )
    print(f"segmentby {raw['compression']['segmentby']}, orderby {raw['compression']['orderby']} (the role's defaults)")
    print(f"{'figure':<36} {'measured':<44} {'ratio':>8}  target")
    print(
        f"{'6 compression, sensor_data_raw':<36} {f'{before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB':<44}"
        f" {saved:>7.1f}%  >= 90 % saved"
    )
    print(
        f"{'7 dashboard query, 7 days hourly':<36}"
        f" {f'raw {raw_seconds * 1000:.1f} ms vs aggregate {hourly_seconds * 1000:.2f} ms':<44}"
        f" {raw_seconds / hourly_seconds:>7.0f}x  >= 100x"
    )
    print(
        f"{'7b the same, rows counted in engine':<36}"
        f" {f'raw {raw_in_engine * 1000:.1f} ms vs aggregate {hourly_in_engine * 1000:.2f} ms':<44}"
        f" {raw_in_engine / hourly_in_engine:>7.0f}x  (without PGlite's row transfer)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
