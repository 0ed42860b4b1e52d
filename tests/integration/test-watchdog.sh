#!/bin/bash
# Self-fencing with a watchdog and no power fence device: 3 sandbox nodes, each with the
# sandbox's emulated watchdog (10 s, droverd's default) and droverd feeding it ([fencing]
# watchdog = true).
#   1. n3 is cut off: it loses quorum and stops its VMs (no-quorum-grace 0: destroyed at once)
#      within half its watchdog timeout, so that it keeps feeding it and is not reset; the
#      majority takes it as down 2 x 10 s after it left and starts the VMs;
#   2. n3 hangs (every process frozen): its watchdog is no longer fed and powers it off; the
#      majority recovers its VMs no earlier than 2 x 10 s after it left.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_sandbox_prereqs
for t in virsh qemu-system-x86_64 libvirtd; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

X=$(mktemp -d /tmp/drover-watchdog.XXXXXX)
cleanup() {
    "$SB" down >/dev/null 2>&1 || true
    rm -rf "$X"
}
trap cleanup EXIT INT TERM
WD=10

"$SB" up -n 3 --libvirt --watchdog=$WD --droverd "$DROVERD" --drover "$DROVER"
wait_until 60 "cluster converged" converged 3
for k in 1 2 3; do
    "$SB" watchdog-status "n$k" | grep -q armed || fail "n$k's watchdog is not armed by droverd"
done

UUIDS=()
for k in 1 2 3; do
    u=$(printf '00000000-0000-4000-8000-0000000fd%03d' "$k")
    UUIDS+=("$u")
    make_domain "wvm$k" "$u" "$X/wvm$k.xml"
    cli n1 resource add "wvm$k" --domain-xml "$X/wvm$k.xml" --prefer n3:1000
    [ "$rc" = 0 ] || fail "resource add wvm$k: exit $rc ($out)"
done
for u in "${UUIDS[@]}"; do
    wait_until 90 "$u running on n3" runs_once "$u" n3
done
cli n1 property set no-quorum-grace 0
[ "$rc" = 0 ] || fail "property set no-quorum-grace 0: exit $rc ($out)"

# on the majority (n1, n2): each VM once
on_majority() {
    local u k list n
    for u in "${UUIDS[@]}"; do
        n=0
        for k in 1 2; do
            list=$(vsh "n$k" list --uuid 2>/dev/null) || return 1
            printf '%s\n' "$list" | grep -qx "$u" && n=$((n + 1))
        done
        [ "$n" = 1 ] || return 1
    done
}
n3_runs_none() {
    local list u
    list=$(vsh n3 list --uuid 2>/dev/null) || return 1
    for u in "${UUIDS[@]}"; do
        ! printf '%s\n' "$list" | grep -qx "$u" || return 1
    done
}

# ---- 1. cut off: stops its VMs, not reset ----
t0=$(ms)
"$SB" partition n3
wait_until 60 "n3 stopped its VMs" n3_runs_none
t1=$(ms)
echo "figure: cut to n3 having stopped its VMs: $((t1 - t0)) ms"
on_majority && fail "the VMs were started on the majority before n3 could be known down"
wait_until 90 "the VMs run on the majority" on_majority
t2=$(ms)
echo "figure: cut to the VMs running on the majority: $((t2 - t0)) ms (rule: >= 2 x ${WD} s after n3 left)"
[ $((t2 - t0)) -ge $((2 * WD * 1000)) ] || fail "recovered $((t2 - t0)) ms after the cut, before 2 x ${WD} s"
n3_runs_none || fail "n3 runs a VM again"
[ "$(grep -c expired "$DROVER_SANDBOX_DIR/n3/watchdog.log")" = 0 ] ||
    fail "n3 was reset by its watchdog although it stopped its VMs"
pass "n3 cut off: stopped its VMs and kept its watchdog fed; recovered after 2 x ${WD} s"
"$SB" heal
wait_until 90 "n3 back in the cluster" converged 3

# the VMs back on n3
for k in 1 2 3; do
    cli n1 resource move "wvm$k" n3
    [ "$rc" = 0 ] || fail "resource move wvm$k n3: exit $rc ($out)"
done
for u in "${UUIDS[@]}"; do
    wait_until 90 "$u back on n3" runs_once "$u" n3
done
for k in 1 2 3; do
    cli n1 resource clear "wvm$k"
done

# ---- 2. hung: the watchdog powers it off ----
t0=$(ms)
"$SB" freeze n3
wait_until 60 "n3's watchdog expired" grep -q expired "$DROVER_SANDBOX_DIR/n3/watchdog.log"
t1=$(ms)
echo "figure: freeze to n3's watchdog firing: $((t1 - t0)) ms"
wait_until 90 "the VMs run on the majority" on_majority
t2=$(ms)
echo "figure: freeze to the VMs running on the majority: $((t2 - t0)) ms"
[ $((t2 - t0)) -ge $((2 * WD * 1000)) ] || fail "recovered $((t2 - t0)) ms after the freeze, before 2 x ${WD} s"
pass "n3 hung: its watchdog powered it off; its VMs recovered after 2 x ${WD} s"
