#!/bin/bash
# Fencing and failover on a real sandbox cluster: 3 nodes, corosync, libvirtd + QEMU (TCG) and
# droverd each, a fence device per node (the sandbox's agent, which powers a node off through
# the sandbox), judged from every node's libvirtd:
#   1. power off the node running 3 VMs: it is fenced, its VMs run elsewhere, each once; the
#      time from the power-off to all of them running is printed;
#   2. it boots and comes back: shown online again;
#   3. its fence agent fails: no recovery, the failed rounds are in the history, the node is
#      shown unclean; a second level with a working device is added: recovery proceeds;
#   4. it is cut off: it stops its VMs, the majority fences it, then recovers them;
# while a sampler reads every libvirtd every <= 250 ms and records any VM running on two hosts
# at once (a live migration's paused incoming copy is not a second running copy).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

require_sandbox_prereqs
for t in virsh qemu-system-x86_64 libvirtd; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

X=$(mktemp -d /tmp/drover-fencing.XXXXXX)
SAMPLER=""
cleanup() {
    [ -z "$SAMPLER" ] || kill "$SAMPLER" 2>/dev/null || true
    "$SB" down >/dev/null 2>&1 || true
    rm -rf "$X"
}
trap cleanup EXIT INT TERM

"$SB" up -n 3 --libvirt --fencing --droverd "$DROVERD" --drover "$DROVER"
wait_until 60 "cluster converged" converged 3
cli n1 fence device list
[ "$rc" = 0 ] || fail "fence device list: exit $rc ($out)"
for k in 1 2 3; do
    echo "$out" | grep -q "sb-n$k" || fail "fence device sb-n$k not configured ($out)"
done
cli n1 property set fence-timeout 10
[ "$rc" = 0 ] || fail "property set fence-timeout: exit $rc ($out)"

UUIDS=()
for k in 1 2 3; do
    u=$(printf '00000000-0000-4000-8000-0000000fe%03d' "$k")
    UUIDS+=("$u")
    make_domain "fvm$k" "$u" "$X/fvm$k.xml"
    cli n1 resource add "fvm$k" --domain-xml "$X/fvm$k.xml" --prefer n3:1000
    [ "$rc" = 0 ] || fail "resource add fvm$k: exit $rc ($out)"
done
for u in "${UUIDS[@]}"; do
    wait_until 90 "$u running on n3" runs_once "$u" n3
done
pass "three VMs run on n3"

# running_lists: one line per node that answers, "nK uuid uuid ...", running domains only (a
# live migration's paused incoming copy is the same VM). A node that is off or frozen runs
# nothing / cannot be asked and is left out.
running_on() { # NODE
    "$SB" exec "$1" timeout 2 virsh -q -c qemu:///system list --uuid --state-running 2>/dev/null
}

# The sampler: every libvirtd, every <= 250 ms, for the whole test. Nodes are read one after
# the other, so a live migration that switches over between two reads looks like two copies:
# a suspected double is read again in the opposite order, and only one seen both ways counts.
sampler() {
    local k u a b la lb
    declare -A seen
    while :; do
        for k in 1 2 3; do
            seen[$k]=$(running_on "n$k" || true)
        done
        for u in "${UUIDS[@]}"; do
            a=""
            for k in 1 2 3; do
                if printf '%s\n' "${seen[$k]}" | grep -qx "$u"; then
                    if [ -z "$a" ]; then
                        a=$k
                    else
                        b=$k
                        lb=$(running_on "n$b" || true)
                        la=$(running_on "n$a" || true)
                        if printf '%s\n' "$lb" | grep -qx "$u" && printf '%s\n' "$la" | grep -qx "$u"; then
                            echo "$(date +%T.%N) $u runs on n$a and n$b" >>"$X/double"
                        fi
                    fi
                fi
            done
        done
        echo "$(ms)" >"$X/sampled"
        sleep 0.05 # sampling period, not a synchronisation
    done
}
sampler &
SAMPLER=$!
wait_until 20 "the sampler ran" test -s "$X/sampled"

never_twice() {
    if [ -s "$X/double" ]; then
        cat "$X/double" >&2
        fail "a VM ran on two hosts at once"
    fi
}

# all_elsewhere NODE: each VM runs exactly once, none on NODE (a node that is off runs
# nothing; one that is alive must answer)
all_elsewhere() {
    local k u n lists=()
    for k in 1 2 3; do
        if node_off "n$k"; then
            lists[$k]=""
        else
            lists[$k]=$(running_on "n$k") || return 1
        fi
    done
    for u in "${UUIDS[@]}"; do
        n=0
        for k in 1 2 3; do
            if printf '%s\n' "${lists[$k]}" | grep -qx "$u"; then
                [ "n$k" != "$1" ] || return 1
                n=$((n + 1))
            fi
        done
        [ "$n" = 1 ] || return 1
    done
}

# where_running_alive UUID: the nodes that are not off and run it.
where_running_alive() {
    local k
    for k in 1 2 3; do
        node_off "n$k" && continue
        running_on "n$k" | grep -qx "$1" && echo "n$k"
    done
    return 0
}

node_off() { # the sandbox refuses to run anything in a node that is off (exit 7)
    local rc=0
    "$SB" exec "$1" true >/dev/null 2>&1 || rc=$?
    [ "$rc" = 7 ]
}

fence_state() { # NODE-asked TARGET: the fence state of TARGET in NODE's status
    get "$1" "node('$2')['fence']['state']"
}

history_has() { # NODE PATTERN: the fence history (as NODE shows it) has a line matching
    "$SB" drover "$1" fence history | grep -Eq "$2"
}

# ---- 1. power off the node running the VMs ----
t0=$(ms)
"$SB" kill n3
wait_until 90 "the VMs of n3 running elsewhere, once each" all_elsewhere n3
t1=$(ms)
echo "figure: power-off of n3 to its 3 VMs running elsewhere: $((t1 - t0)) ms"
wait_until 20 "n3 shown fenced" test "$(fence_state n1 n3)" = down
history_has n1 "n3.*ok" || fail "no successful fencing of n3 in the history"
grep -q "action=off target=n3 outcome=ok" "$DROVER_SANDBOX_DIR/fence-agent.log" ||
    fail "the fence agent never powered n3 off"
never_twice
pass "n3 powered off: fenced, its VMs run elsewhere once each ($((t1 - t0)) ms)"

# ---- 2. it comes back ----
"$SB" start-node n3
wait_until 90 "n3 back in the cluster" converged 3
wait_until 30 "n3 shown online" test "$(fence_state n1 n3)" = online
pass "n3 booted and is online again"

# back to n3 (live migration), for the next cases
move_all_to_n3() {
    local k
    for k in 1 2 3; do
        cli n1 resource move "fvm$k" n3
        [ "$rc" = 0 ] || fail "resource move fvm$k n3: exit $rc ($out)"
    done
    for u in "${UUIDS[@]}"; do
        wait_until 90 "$u back on n3" runs_once "$u" n3
    done
    for k in 1 2 3; do
        cli n1 resource clear "fvm$k"
        [ "$rc" = 0 ] || fail "resource clear fvm$k: exit $rc ($out)"
    done
}
move_all_to_n3

# ---- 3. a failing fence agent, then a second level that works ----
"$SB" fence-mode n3 fail
"$SB" kill n3
failed_rounds() {
    [ "$("$SB" drover n1 fence history n3 | grep -c 'failed')" -ge "$1" ]
}
wait_until 60 "two failed fencing rounds of n3 in the history" failed_rounds 2
for u in "${UUIDS[@]}"; do
    runs_nowhere_alive() { [ -z "$(where_running_alive "$1")" ]; }
    runs_nowhere_alive "$u" || fail "$u was recovered while n3 could not be fenced"
done
st=$(fence_state n1 n3)
[ "$st" = fencing ] || fail "n3 shown '$st' while its fencing fails, want fencing (unclean)"
pass "fence agent failing: no recovery, failed rounds in the history, n3 unclean"

cli n1 fence device add sb2-n3 --agent "$DROVER_SRCDIR/tests/sandbox/fence_drover_sandbox" \
    --param "sandbox_dir=$DROVER_SANDBOX_DIR" --param ignore_fence_mode=1 --nodes n3
[ "$rc" = 0 ] || fail "fence device add sb2-n3: exit $rc ($out)"
cli n1 fence level add n3 1 sb-n3
[ "$rc" = 0 ] || fail "fence level add n3 1: exit $rc ($out)"
cli n1 fence level add n3 2 sb2-n3
[ "$rc" = 0 ] || fail "fence level add n3 2: exit $rc ($out)"
t0=$(ms)
wait_until 90 "the VMs of n3 recovered through level 2" all_elsewhere n3
echo "figure: level 2 added to VMs running elsewhere: $(($(ms) - t0)) ms (includes the retry back-off)"
history_has n1 "n3.*sb2-n3.*ok|n3.*ok.*sb2-n3" || fail "no success through sb2-n3 in the history"
never_twice
pass "a second level with a working device fences n3; its VMs run elsewhere"

"$SB" fence-mode n3 ok
"$SB" start-node n3
wait_until 90 "n3 back in the cluster" converged 3
wait_until 30 "n3 shown online" test "$(fence_state n1 n3)" = online
move_all_to_n3

# ---- 4. n3 cut off ----
# Its agent hangs first, so that n3's own reaction can be seen before it is powered off.
"$SB" fence-mode n3 hang
t0=$(ms)
"$SB" partition n3
n3_runs_none() {
    local list u
    list=$(vsh n3 list --uuid 2>/dev/null) || return 1
    for u in "${UUIDS[@]}"; do
        ! printf '%s\n' "$list" | grep -qx "$u" || return 1
    done
}
wait_until 60 "n3 (no quorum) stopped its VMs" n3_runs_none
echo "figure: cut of n3 to n3 having stopped its VMs (no-quorum-policy stop): $(($(ms) - t0)) ms"
for u in "${UUIDS[@]}"; do
    [ -z "$(where_running_alive "$u")" ] || fail "$u recovered before n3 was fenced"
done
"$SB" fence-mode n3 ok # the hung call is killed at fence-timeout (10 s); the next round works
wait_until 120 "the VMs of n3 running elsewhere after the cut" all_elsewhere n3
echo "figure: cut of n3 to its VMs running elsewhere (a hung agent first): $(($(ms) - t0)) ms"
node_off n3 || fail "n3 was not powered off by the majority"
history_has n1 "n3.*(timed out|timeout)" || fail "the hung fence call is not in the history"
never_twice
pass "n3 cut off: it stopped its VMs, the majority fenced it, then recovered them"
"$SB" heal

kill "$SAMPLER" 2>/dev/null || true
SAMPLER=""
never_twice
pass "sampled every libvirtd every <= 250 ms: no VM ever ran twice"
