#!/usr/bin/env bash
# Download Debian packages with every dependency a fresh test host lacks, for tests that install
# from local package files on a host without apt sources (molecule/airgapped).
#
#   tests/support/download-debs.sh <image> <name> <package>...
#   tests/support/download-debs.sh mantis-testhost:trixie airgapped-trixie postgresql-17 python3-psycopg2
#
# The closure is computed and downloaded with apt-get inside a throwaway container of the test
# host's own image (the build machine may run another Debian release, e.g. Debian 12 has no
# TimescaleDB): apt-get install --simulate names exactly the packages that image lacks, at the
# versions the archive has now, and apt-get download fetches them. The container reaches Debian's
# archive through the mirror the image was built from (tests/support/image/build.sh writes it into
# the image's sources.list), or MANTIS_DEBIAN_MIRROR when set, over the build machine's own network
# (--network host: a mirror on the build machine's loopback answers too).
#
# The files land in .cache/debs/<hash>/, the hash taken over the package list, the image's ID and
# this script, so they are downloaded once; .cache/debs/<name> links to the current set. The last
# line on stdout is that directory; the rest of the output goes to stderr.
set -euo pipefail

image="${1:?usage: download-debs.sh <image> <name> <package>...}"
name="${2:?usage: download-debs.sh <image> <name> <package>...}"
shift 2
[ "$#" -gt 0 ] || { echo "download-debs.sh: no package given" >&2; exit 2; }

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="$(cd "$here/../.." && pwd)/.cache/debs"
image_id="$(docker image inspect --format '{{.Id}}' "$image")" || {
    echo "download-debs.sh: image $image not found (make images builds it)" >&2
    exit 1
}
key="$( { printf '%s\n' "$image_id" "${MANTIS_DEBIAN_MIRROR:-}" "$@"; cat "$here/download-debs.sh"; } \
    | sha256sum | cut -c1-16)"
dir="$cache/$key"
mkdir -p "$cache"

if [ -f "$dir/closure.txt" ]; then
    echo "debs: reusing $dir ($(wc -l <"$dir/closure.txt") packages)" >&2
else
    start=$(date +%s)
    partial="$(mktemp -d "$cache/.partial-$key.XXXXXX")"
    chmod 0755 "$partial"
    trap 'rm -rf "$partial"' EXIT
    # shellcheck disable=SC2016  # expanded by the container's shell
    docker run --rm --network host --volume "$partial:/debs" --env MIRROR="${MANTIS_DEBIAN_MIRROR:-}" \
        --env OWNER="$(id -u):$(id -g)" "$image" bash -euo pipefail -c '
        if [ -n "$MIRROR" ]; then
            . /etc/os-release
            printf "deb %s %s main\ndeb %s %s-updates main\n" \
                "$MIRROR" "$VERSION_CODENAME" "$MIRROR" "$VERSION_CODENAME" >/etc/apt/sources.list
        fi
        apt-get update -qq
        # "Inst <package> [<installed version>] (<version> <suite> [<arch>])"
        apt-get install --simulate --no-install-recommends "$@" \
            | awk "/^Inst /{ for (i = 3; i <= NF; i++) if (\$i ~ /^\\(/) { print \$2 \"=\" substr(\$i, 2); break } }" \
            >/debs/closure.txt
        cd /debs
        xargs apt-get download -qq -o APT::Sandbox::User=root </debs/closure.txt
        chown -R "$OWNER" /debs
    ' download-debs "$@" >&2
    [ "$(find "$partial" -name '*.deb' | wc -l)" -eq "$(wc -l <"$partial/closure.txt")" ] || {
        echo "download-debs.sh: fewer files than packages in $partial" >&2
        exit 1
    }
    mv "$partial" "$dir"
    trap - EXIT
    echo "debs: downloaded $(wc -l <"$dir/closure.txt") packages into $dir in $(($(date +%s) - start)) s" >&2
fi

ln -sfn "$key" "$cache/$name"
echo "$dir"
