"""Redis GET/SET latency on a host provisioned by the redis role, against a baseline.

    make bench-redis            (or: python -m tests.benchmarks.redis_latency)

Boots a Debian 13 systemd test host, converges it with mantis.datalayer.redis (AOF
with fsync every second, ACL authentication, port 6380), then runs redis-benchmark
inside the host against the provisioned instance and against a baseline: a second
redis-server on port 6379 with Redis's built-in defaults (no AOF, no authentication),
started in the same host for the same run. Prints percentiles and the ratio
provisioned / baseline. The seed's claim is sub-millisecond reads: the target is a
GET p99 under 1 ms.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.containers import start_host

REPO_ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "bench-admin-secret"


def converge(container_name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        inventory = Path(tmp, "inventory")
        inventory.write_text(f"{container_name} ansible_connection=community.docker.docker\n")
        playbook = Path(tmp, "bench.yml")
        playbook.write_text(
            "- hosts: all\n"
            "  tasks:\n"
            "    - name: Container-only drop-in (Debian's unit uses PrivateUsers=true)\n"
            "      ansible.builtin.copy:\n"
            "        dest: /etc/systemd/system/redis-server.service.d/10-container.conf\n"
            '        content: "[Service]\\nPrivateUsers=false\\n"\n'
            "        mode: '0644'\n"
            "    - ansible.builtin.include_role:\n"
            "        name: mantis.datalayer.redis\n"
            "      vars:\n"
            f"        redis_admin_password: {ADMIN_PASSWORD}\n"
            "        redis_feature_writer_password: bench-writer-secret\n"
            "        redis_feature_reader_password: bench-reader-secret\n"
            "        redis_maxmemory: 256mb\n"
        )
        env = dict(os.environ)
        env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO_ROOT / ".cache" / "ansible-home" / "collections"))
        subprocess.run(
            [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inventory), str(playbook)],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )


def benchmark(host, port: int, requests: int, clients: int, auth: list[str]) -> dict[str, dict[str, float]]:
    options = ["-t", "set,get", "-n", str(requests), "-c", str(clients), "-d", "256", "-r", "10000", "--csv"]
    command = " ".join(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), *auth, *options])
    output = host.sh(command + " 2>/dev/null")
    rows = {}
    for row in csv.DictReader(io.StringIO(output)):
        rows[row["test"]] = {key: float(value) for key, value in row.items() if key != "test"}
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100000)
    parser.add_argument("--clients", type=int, default=10)
    args = parser.parse_args()

    name = f"mantis-bench-redis-{os.getpid()}"
    host = start_host(name, publish=[], image="mantis-testhost:trixie")
    try:
        host.sh("mkdir -p /etc/systemd/system/redis-server.service.d")
        converge(name)
        host.sh("redis-server --port 6379 --daemonize yes --save '' --appendonly no --logfile /tmp/baseline.log")
        host.sh("for i in $(seq 50); do redis-cli -p 6379 ping 2>/dev/null | grep -q PONG && exit 0; sleep 0.1; done")
        auth = ["--user", "mantis-admin", "-a", ADMIN_PASSWORD]
        # Warm up both instances, then measure them alternately in the same run.
        benchmark(host, 6380, 10000, args.clients, auth)
        benchmark(host, 6379, 10000, args.clients, [])
        provisioned = benchmark(host, 6380, args.requests, args.clients, auth)
        baseline = benchmark(host, 6379, args.requests, args.clients, [])
    finally:
        host.remove()

    print(f"Redis latency: redis-benchmark -n {args.requests} -c {args.clients} -d 256, inside one Debian 13 host")
    print(f"{'test':<5} {'instance':<34} {'req/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    for test in ("GET", "SET"):
        for label, rows in (("provisioned (6380, AOF, ACL)", provisioned), ("baseline (6379, defaults)", baseline)):
            r = rows[test]
            print(
                f"{test:<5} {label:<34} {r['rps']:>9.0f} {r['p50_latency_ms']:>7.3f}"
                f" {r['p95_latency_ms']:>7.3f} {r['p99_latency_ms']:>7.3f} {r['max_latency_ms']:>7.3f}"
            )
        ratio = provisioned[test]["p99_latency_ms"] / max(baseline[test]["p99_latency_ms"], 0.001)
        print(f"{test:<5} p99 ratio provisioned / baseline: {ratio:.2f}x")
    get_p99 = provisioned["GET"]["p99_latency_ms"]
    verdict = "meets" if get_p99 < 1.0 else "MISSES"
    print(f"GET p99 on the provisioned instance: {get_p99:.3f} ms ({verdict} the < 1 ms target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
