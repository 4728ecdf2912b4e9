"""Throwaway systemd test hosts for the integration tests.

Each server runs in a container of the project's own `mantis-testhost-servers`
image (built by tests/support/image/build.sh), booted with systemd the same way
Molecule boots its hosts, with the server port published on 127.0.0.1 only.
Containers carry a label with the pid of the test run that made them, so a run
removes what an earlier, killed run left behind, and every fixture removes its
container when it finishes, whether its tests passed or not.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from dataclasses import dataclass, field

import docker
from docker.errors import NotFound

SERVERS_IMAGE = os.environ.get("MANTIS_SERVERS_IMAGE", "mantis-testhost-servers:trixie")
OWNER_LABEL = "mantis.datalayer.test-run"


def docker_client() -> docker.DockerClient:
    return docker.from_env()


def remove_orphans(client: docker.DockerClient) -> None:
    """Remove test containers whose test run no longer exists."""
    for container in client.containers.list(all=True, filters={"label": OWNER_LABEL}):
        pid = int(container.labels.get(OWNER_LABEL, "0"))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            container.remove(force=True)
        except PermissionError:
            pass


@dataclass
class TestHost:
    """A running systemd container with one published server port."""

    container: docker.models.containers.Container
    name: str
    ports: dict[int, int] = field(default_factory=dict)

    def sh(self, script: str, check: bool = True) -> str:
        """Run a shell script in the container as root and return its output."""
        code, output = self.container.exec_run(["bash", "-ec", script])
        text = output.decode(errors="replace")
        if check and code != 0:
            raise RuntimeError(f"{self.name}: exit {code} running:\n{script}\n--- output ---\n{text}")
        return text

    def port(self, container_port: int) -> int:
        return self.ports[container_port]

    def remove(self) -> None:
        try:
            self.container.remove(force=True)
        except NotFound:
            pass


def run_container(name: str, publish: list[int], image: str = SERVERS_IMAGE) -> TestHost:
    """Create and start a systemd test host without waiting for its boot to finish."""
    client = docker_client()
    remove_orphans(client)
    try:
        client.containers.get(name).remove(force=True)
    except NotFound:
        pass
    container = client.containers.run(
        image,
        command="/sbin/init",
        name=name,
        hostname=name,
        detach=True,
        cgroupns="host",
        volumes={"/sys/fs/cgroup": {"bind": "/sys/fs/cgroup", "mode": "rw"}},
        tmpfs={"/run": "", "/run/lock": "", "/tmp": ""},
        cap_add=["SYS_ADMIN"],
        stop_signal="SIGRTMIN+3",
        ports={f"{port}/tcp": ("127.0.0.1", None) for port in publish},
        labels={OWNER_LABEL: str(os.getpid())},
    )
    host = TestHost(container=container, name=name)
    try:
        container.reload()
        bindings = container.attrs["NetworkSettings"]["Ports"]
        host.ports = {port: int(bindings[f"{port}/tcp"][0]["HostPort"]) for port in publish}
    except Exception:
        host.remove()
        raise
    return host


def start_host(name: str, publish: list[int], image: str = SERVERS_IMAGE) -> TestHost:
    """Boot a systemd test host and wait until systemd has finished starting."""
    host = run_container(name, publish, image)
    try:
        wait_for_boot(host)
    except Exception:
        host.remove()
        raise
    return host


def wait_for_boot(host: TestHost, timeout: float = 90.0) -> None:
    """Wait until systemd in the container has finished booting."""
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        # Right after the container starts, PID 1 may not have opened its socket yet.
        state = host.sh("systemctl is-system-running --wait 2>&1 || true").strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{host.name}: systemd did not finish booting within {timeout} s (last state {state!r})")


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered on 127.0.0.1:{port} within {timeout} s")


def docker_available() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0
