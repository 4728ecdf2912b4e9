"""Database servers started in throwaway test hosts, configured as a test needs them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tests.support.containers import TestHost, start_host, wait_for_port

POSTGRES_VERSION = "17"


@dataclass
class PostgresServer:
    host: TestHost
    port: int
    user: str
    password: str

    @property
    def login(self) -> dict:
        """Connection options in the form the collection's modules take them."""
        return {
            "login_host": "127.0.0.1",
            "login_port": self.port,
            "login_user": self.user,
            "login_password": self.password,
        }

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run SQL as the postgres superuser over the local socket; return unaligned rows."""
        quoted = sql.replace("'", "'\\''")
        return self.host.sh(
            f"runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d {database} -c '{quoted}'"
        ).strip()


def start_postgres(name: str) -> PostgresServer:
    """PostgreSQL 17 with PostGIS and TimescaleDB available, reachable over TCP with a password."""
    host = start_host(name, publish=[5432])
    password = secrets.token_urlsafe(16)
    conf = f"/etc/postgresql/{POSTGRES_VERSION}/main"
    host.sh(
        f"""
        echo "listen_addresses = '*'" > {conf}/conf.d/50-test.conf
        echo "shared_preload_libraries = 'timescaledb'" >> {conf}/conf.d/50-test.conf
        echo "timescaledb.telemetry_level = off" >> {conf}/conf.d/50-test.conf
        echo "host all all 0.0.0.0/0 scram-sha-256" >> {conf}/pg_hba.conf
        systemctl start postgresql@{POSTGRES_VERSION}-main
        """
    )
    server = PostgresServer(host=host, port=host.port(5432), user="postgres", password=password)
    server.psql(f"ALTER ROLE postgres PASSWORD '{password}'")
    wait_for_port(server.port)
    return server


@dataclass
class RedisServer:
    host: TestHost
    port: int

    def cli(self, *args: str) -> str:
        return self.host.sh("redis-cli -p 6379 " + " ".join(args)).strip()


def start_redis(name: str) -> RedisServer:
    """Debian's redis-server under systemd, reachable on a loopback port."""
    host = start_host(name, publish=[6379])
    # Debian's unit sets PrivateUsers=true, which cannot work inside a container here.
    host.sh(
        """
        mkdir -p /etc/systemd/system/redis-server.service.d
        printf '[Service]\\nPrivateUsers=false\\n' > /etc/systemd/system/redis-server.service.d/container.conf
        sed -i 's/^bind .*/bind 0.0.0.0/; s/^protected-mode yes/protected-mode no/' /etc/redis/redis.conf
        systemctl daemon-reload
        systemctl start redis-server
        """
    )
    server = RedisServer(host=host, port=host.port(6379))
    wait_for_port(server.port)
    return server
