#!/bin/bash
# Drover demo: install what is needed, build, start a 3-node sandbox cluster (corosync +
# droverd per node in its own namespaces) and walk through status, standby, a partition and
# the heal. Run as root on Debian 12. --keep leaves the cluster running afterwards
# (tear it down with: tests/sandbox/drover-sandbox down).
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = --keep ] && keep=1

tools/install-deps.sh
./autogen.sh >/dev/null
mkdir -p build
(cd build && ../configure -q && make -j"$(nproc)" >/dev/null)

SB=tests/sandbox/drover-sandbox
B=$PWD/build
if [ "$keep" = 0 ]; then
    trap '"$SB" down >/dev/null 2>&1 || true' EXIT
fi

step() {
    printf '\n\033[1m==> %s\033[0m\n' "$*"
}
show() {
    printf '$ drover %s   # on %s\n' "${*:2}" "$1"
    "$SB" drover "$@" || true
}
# until_status NODE PYEXPR: poll NODE's JSON status (bound to d) for up to 30 s.
until_status() {
    local deadline=$(($(date +%s) + 30))
    until "$SB" drover "$1" --output-as json status 2>/dev/null |
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"; do
        [ "$(date +%s)" -lt "$deadline" ] || { echo "demo: timed out waiting on $1 for: $2" >&2; exit 1; }
        sleep 0.1 # poll interval
    done
}

step "Start a 3-node sandbox cluster: corosync and droverd in namespaces n1, n2, n3"
"$SB" up -n 3 --droverd "$B/agent/droverd" --drover "$B/tools/drover"
until_status n1 'd["quorate"] and len(d["members"]) == 3'
show n1 status

step "Put n2 in standby from n1; every node sees it"
show n1 node standby n2
until_status n3 'any(n["name"] == "n2" and n["standby"] for n in d["nodes"])'
show n3 status

step "Partition n3 from the others"
"$SB" partition n3
until_status n3 'd["phase"] == "active" and not d["quorate"]'
until_status n1 'd["quorate"] and len(d["members"]) == 2'
show n3 status
echo "# n3 has no quorum, so it refuses changes:"
show n3 node online n2
echo "# the quorate side (n1, n2) still accepts them:"
show n1 node online n2
show n1 status

step "Heal the partition; n3 catches up with the majority"
"$SB" heal
until_status n3 'd["quorate"] and len(d["members"]) == 3 and not any(n["name"] == "n2" and n["standby"] for n in d["nodes"])'
show n3 status

if [ "$keep" = 1 ]; then
    step "The cluster keeps running. Try: $SB drover n1 status ; $SB down"
else
    step "Done; tearing the sandbox down (use --keep to leave it running)"
fi
