#!/usr/bin/env bash
# Make sure a Docker engine answers. Installs Debian's docker.io when no engine is
# installed and starts dockerd when it is not running (with systemd where the
# machine runs it, otherwise as a background process logging to /var/log/dockerd.log).
set -euo pipefail

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "docker: no engine installed; installing Debian's docker.io"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [ -d /run/systemd/system ]; then
    systemctl start docker
else
    echo "docker: starting dockerd (log: /var/log/dockerd.log)"
    nohup dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && { echo "docker: engine ready"; exit 0; }
    sleep 1
done
echo "docker: the engine did not answer within 60 s; see /var/log/dockerd.log" >&2
exit 1
