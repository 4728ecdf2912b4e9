#!/usr/bin/env bash
# Build the project's systemd test-host images from Debian's archive and import them
# into Docker. Nothing is pulled from a registry: the root file system is made with
# debootstrap, so this works where Docker Hub is unreachable.
#
#   tests/support/image/build.sh trixie     -> mantis-testhost:trixie (+ :trixie-<recipe hash>)
#                                              mantis-testhost-servers:trixie (+ hash tag)
#   tests/support/image/build.sh bookworm   -> mantis-testhost:bookworm (+ hash tag) only
#
# Images are tagged with a hash of their recipe (this script and packages.txt), so a
# second run reuses them and a change to the recipe rebuilds them.
#
# Two images per release:
#   mantis-testhost          systemd + python3 only: what a fresh factory server looks
#                            like; Molecule scenarios install software with the roles.
#   mantis-testhost-servers  the same plus the database packages the module
#                            integration tests start (PostgreSQL + PostGIS +
#                            TimescaleDB, Redis), so tests need no network.
set -euo pipefail

dist="${1:?usage: build.sh trixie|bookworm}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mirror="${MANTIS_DEBIAN_MIRROR:-http://deb.debian.org/debian}"

recipe_hash="$(cat "$here/build.sh" "$here/packages.txt" | sha256sum | cut -c1-12)"
base_tag="mantis-testhost:${dist}-${recipe_hash}"
servers_tag="mantis-testhost-servers:${dist}-${recipe_hash}"

# A release gets a servers image only where packages.txt lists its server packages
# (Debian 13: the integration tests' PostgreSQL 17 + PostGIS + TimescaleDB and Redis).
packages_for() {
    awk -v want="$1" '$1 == want { for (i = 2; i <= NF; i++) print $i }' "$here/packages.txt" | paste -sd, -
}

server_packages="$(packages_for "servers-$dist")"
if docker image inspect "$base_tag" >/dev/null 2>&1 \
    && { [ -z "$server_packages" ] || docker image inspect "$servers_tag" >/dev/null 2>&1; }; then
    echo "image: reusing $base_tag${server_packages:+ and $servers_tag} (recipe unchanged)"
    docker tag "$base_tag" "mantis-testhost:${dist}"
    [ -z "$server_packages" ] || docker tag "$servers_tag" "mantis-testhost-servers:${dist}"
    exit 0
fi

command -v debootstrap >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
}

start=$(date +%s)
work="$(mktemp -d /var/tmp/mantis-image.XXXXXX)"
cleanup() {
    for m in proc sys dev/pts dev; do umount -l "$work/rootfs/$m" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

base_packages="$(packages_for base),$(packages_for "base-$dist")"
base_packages="${base_packages%,}"
echo "image: debootstrap $dist ($base_packages)"
debootstrap --variant=minbase --include="$base_packages" "$dist" "$work/rootfs" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log"; exit 1; }

root="$work/rootfs"
# A container has no consoles, udev or kernel-side time sync: these units only
# fail or wait there, which would make "systemctl is-system-running" report degraded.
for unit in getty.target console-getty.service systemd-udevd.service systemd-udev-trigger.service \
    systemd-timesyncd.service systemd-networkd-wait-online.service systemd-firstboot.service \
    systemd-modules-load.service sys-kernel-config.mount sys-kernel-debug.mount \
    sys-kernel-tracing.mount systemd-remount-fs.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"
echo "$mirror" >"$root/etc/mantis-testhost-mirror"
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $dist main
deb $mirror $dist-updates main
EOF
# Keep images small: no documentation or man pages.
cat >"$root/etc/dpkg/dpkg.cfg.d/01-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
EOF
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*

import_rootfs() {
    tar -C "$root" --numeric-owner -c . | docker import \
        --change 'ENV container=docker' \
        --change 'CMD ["/sbin/init"]' \
        - "$1" >/dev/null
}

import_rootfs "$base_tag"
docker tag "$base_tag" "mantis-testhost:${dist}"
echo "image: built $base_tag in $(($(date +%s) - start)) s"
[ -n "$server_packages" ] || exit 0

# Server packages are installed in a chroot of the same root file system; a
# policy-rc.d keeps their services from starting on the build machine.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" apt-get update -qq
# shellcheck disable=SC2046
DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends \
    $(echo "$server_packages" | tr , ' ') >"$work/servers.log" 2>&1 || { tail -30 "$work/servers.log"; exit 1; }
# Services are started by the tests, each with the settings it needs.
chroot "$root" systemctl disable postgresql.service redis-server.service >/dev/null 2>&1 || true
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
for m in dev/pts dev sys proc; do umount -l "$root/$m"; done

import_rootfs "$servers_tag"
docker tag "$servers_tag" "mantis-testhost-servers:${dist}"
echo "image: built $base_tag and $servers_tag in $(($(date +%s) - start)) s"
