#!/bin/sh
# Install what Drover needs to build, test and run its sandbox on Debian 12 (run as root).
set -eu
export DEBIAN_FRONTEND=noninteractive
PKGS="build-essential autoconf automake libtool pkg-config python3
      libqb-dev libcpg-dev libquorum-dev libvotequorum-dev libcmap-dev libcorosync-common-dev
      pacemaker-dev libglib2.0-dev libjson-glib-dev libxml2-dev libvirt-dev libcunit1-dev
      corosync iproute2 nftables util-linux procps
      libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86
      openipmi ipmitool fence-agents"
# Skip apt when everything is there already (a re-run, or CI on a prepared machine).
missing=""
for p in $PKGS; do
    case "$p" in *-) continue ;; esac
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "install-deps: installing:$missing"
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing
fi
# corosync's package enables and starts its own service on install; the sandbox runs its own
# corosync per node, so the host one must not hold /run/corosync or the knet port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active -q corosync 2>/dev/null; then
    echo "install-deps: note: a host corosync.service is running; the sandbox does not need it"
fi
getent group haclient >/dev/null || groupadd -r haclient
