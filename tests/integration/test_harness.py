"""The test harness itself: systemd hosts boot, services start, real servers answer."""

from __future__ import annotations

import psycopg2
import redis

from tests.support.ansible_runner import run_module


def test_test_host_runs_systemd(postgres):
    assert postgres.host.sh("ps -o comm= -p 1").strip() == "systemd"
    assert postgres.host.sh("systemctl is-active postgresql@17-main").strip() == "active"


def test_postgres_answers_a_query_over_tcp_with_a_password(postgres):
    with psycopg2.connect(
        host="127.0.0.1", port=postgres.port, user=postgres.user, password=postgres.password, dbname="postgres"
    ) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_setting('server_version_num')::int / 10000, 6 * 7")
        major, answer = cur.fetchone()
    assert (major, answer) == (17, 42)


def test_postgres_refuses_a_wrong_password(postgres):
    try:
        psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", password="wrong", dbname="postgres")
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("a wrong password was accepted")


def test_postgis_and_timescaledb_are_available(postgres):
    available = postgres.psql(
        "SELECT string_agg(name, ',' ORDER BY name) FROM pg_available_extensions"
        " WHERE name IN ('postgis', 'timescaledb')"
    )
    assert available == "postgis,timescaledb"
    assert postgres.psql("SHOW shared_preload_libraries") == "timescaledb"


def test_modules_run_against_the_server_through_ansible(postgres):
    run = run_module(
        "community.postgresql.postgresql_query",
        {**postgres.login, "login_db": "postgres", "query": "SELECT 40 + 2 AS answer"},
    )
    assert not run.failed, run.output
    assert run.result["query_result"] == [{"answer": 42}]
    assert postgres.password not in run.output


def test_redis_answers(redis_server):
    client = redis.Redis(host="127.0.0.1", port=redis_server.port)
    client.set("feature:harness:latest", "1", ex=300)
    assert client.get("feature:harness:latest") == b"1"
    assert 0 < client.ttl("feature:harness:latest") <= 300
