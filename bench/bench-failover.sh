#!/bin/bash
# make bench-failover (root): on a 3-node sandbox (corosync token 1000 ms, libvirtd + QEMU TCG,
# droverd, the sandbox's fence agent per node), RUNS times: power off the node running N VMs
# and time until every VM runs elsewhere (each once, read from the survivors' libvirtds). Prints
# each run and p50/p95 of the total and of its parts:
#   membership: power-off -> the coordinator begins fencing (corosync notices, droverd syncs)
#   fence:      fencing begun -> fencing confirmed (the fence agent's round trip)
#   recover:    fencing confirmed -> every VM running (plan, assignment, start by libvirt)
# The parts come from the replicated fence history (wall clock, ms); the total from this
# script's polling (one libvirt list per survivor every ~0.1 s).
#   RUNS (default 20), VMS (default 3), BUILDDIR (default ./build).
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILDDIR=${BUILDDIR:-$SRC/build}
RUNS=${RUNS:-20}
VMS=${VMS:-3}
SB="$SRC/tests/sandbox/drover-sandbox"
export DROVER_SANDBOX_DIR="${DROVER_SANDBOX_DIR:-/tmp/drover-sandbox}"
[ "$(id -u)" = 0 ] || { echo "bench-failover: needs root (the sandbox)" >&2; exit 77; }

X=$(mktemp -d /tmp/drover-bench-failover.XXXXXX)
cleanup() {
    "$SB" down >/dev/null 2>&1 || true
    rm -rf "$X"
}
trap cleanup EXIT INT TERM

ms() { date +%s%3N; }
wait_for() { # SECONDS DESC CMD...
    local deadline=$(($(ms) + $1 * 1000)) desc=$2
    shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(ms)" -lt "$deadline" ] || { echo "bench-failover: timed out: $desc" >&2; exit 1; }
        sleep 0.02 # poll interval of a condition wait
    done
}
running_on() { "$SB" exec "$1" timeout 2 virsh -q -c qemu:///system list --uuid --state-running; }
all_on() { # NODE...: every VM runs on one of NODE..., once
    local lists="" n u
    for n in "$@"; do
        lists+=$(running_on "$n")$'\n' || return 1
    done
    for u in "${UUIDS[@]}"; do
        [ "$(printf '%s' "$lists" | grep -cx "$u")" = 1 ] || return 1
    done
}
converged() {
    "$SB" drover n1 --output-as json status | python3 -c '
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if d["phase"] == "active" and d["quorate"] and len(d["members"]) == 3 else 1)'
}

"$SB" up -n 3 --libvirt --fencing --droverd "$BUILDDIR/agent/droverd" --drover "$BUILDDIR/tools/drover" >&2
wait_for 60 "cluster converged" converged
UUIDS=()
for k in $(seq 1 "$VMS"); do
    u=$(printf '00000000-0000-4000-8000-0000000be%03d' "$k")
    UUIDS+=("$u")
    cat >"$X/bvm$k.xml" <<EOF
<domain type='qemu'><name>bvm$k</name><uuid>$u</uuid><memory unit='MiB'>64</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><emulator>$(command -v qemu-system-x86_64)</emulator><video><model type='none'/></video>
<memballoon model='none'/></devices></domain>
EOF
    "$SB" drover n1 resource add "bvm$k" --domain-xml "$X/bvm$k.xml" --prefer n3:1000 >/dev/null
done

echo "run total_ms membership_ms fence_ms recover_ms" >"$X/runs"
for r in $(seq 1 "$RUNS"); do
    wait_for 120 "the VMs on n3" all_on n3
    sleep 2 # let the placement settle before the next power-off (a pause, not a wait for state)
    t0=$(ms)
    "$SB" kill n3 >/dev/null 2>&1
    wait_for 120 "the VMs recovered" all_on n1 n2
    t1=$(ms)
    parts=$("$SB" drover n1 --output-as json fence history n3 | python3 -c '
import json, sys
t0 = int(sys.argv[1]); t1 = int(sys.argv[2])
h = [e for e in json.load(sys.stdin)["history"] if e["at_ms"] >= t0 - 1000]
b = next(e["at_ms"] for e in h if e["result"] == "begun")
o = next(e["at_ms"] for e in h if e["result"] == "ok")
print(b - t0, o - b, t1 - o)' "$t0" "$t1")
    echo "$r $((t1 - t0)) $parts" | tee -a "$X/runs"
    "$SB" start-node n3 >/dev/null 2>&1
    wait_for 120 "n3 back" converged
done
python3 - "$X/runs" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
def pct(vals, p):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(round(p / 100 * (len(vals) - 1))))]
names = ["total", "membership", "fence", "recover"]
print(f"failover of a node with its VMs, {len(rows)} runs (ms):")
for i, n in enumerate(names):
    v = [int(r[i + 1]) for r in rows]
    print(f"  {n:11s} p50 {pct(v, 50):6d}  p95 {pct(v, 95):6d}  min {min(v):6d}  max {max(v):6d}")
EOF
