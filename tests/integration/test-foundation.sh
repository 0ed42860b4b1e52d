#!/bin/bash
# Issue 2 acceptance on a 3-node sandbox: membership and coordinator agreement, replicated and
# persisted admin state, partition behaviour, daemon restart re-sync, hostile CPG messages.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_sandbox_prereqs

cleanup() {
    "$SB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# ---- (a) three daemons agree on membership, quorum and coordinator ----
t0=$(ms)
"$SB" up -n 3 --droverd "$DROVERD" --drover "$DROVER"
wait_until 30 "3 nodes converged in drover status" converged
echo "figure: sandbox up to converged drover status: $(($(ms) - t0)) ms"
[ "$(get n2 'd["coordinator"]["name"]')" = n1 ] || fail "coordinator is not n1 (lowest node id)"
jq_node n3 'd["nodes"][0]["name"] == "n1" and len(d["nodes"]) == 3' || fail "nodelist not read from cmap"
pass "(a) membership, quorum and coordinator agree on all three nodes"

# ---- CLI errors: bad arguments, unknown node ----
cli n1 node standby no-such-node
[ "$rc" = 5 ] || fail "unknown node: exit $rc, want 5 ($out)"
cli n1 node frobnicate n1
[ "$rc" = 2 ] || fail "bad arguments: exit $rc, want 2 ($out)"
cli n1 --output-as yaml status
[ "$rc" = 2 ] || fail "bad --output-as: exit $rc, want 2 ($out)"
pass "CLI: unknown node exit 5, bad arguments exit 2"

# ---- (b) standby on n1 is seen on n3 within 1 s and survives a restart of all daemons ----
seq_before=$(get n3 'd["seq"]')
t0=$(ms)
cli n1 node standby n2
[ "$rc" = 0 ] || fail "node standby n2 on n1: exit $rc ($out)"
deadline=$((t0 + 1000))
until jq_node n3 'node("n2")["standby"]'; do
    [ "$(ms)" -lt "$deadline" ] || fail "standby of n2 not seen on n3 within 1 s"
done
echo "figure: standby on n1 visible on n3 after $(($(ms) - t0)) ms"
[ "$(get n3 'd["seq"]')" = $((seq_before + 1)) ] || fail "seq did not advance by exactly one"
for n in n1 n2 n3; do "$SB" stop-droverd "$n"; done
for n in n1 n2 n3; do "$SB" start-droverd "$n"; done
wait_until 30 "converged after restarting all daemons" converged
for n in n1 n2 n3; do
    jq_node "$n" 'node("n2")["standby"] and node("n2")["admin"] == "standby"' ||
        fail "n2's standby lost on $n after restarting all daemons"
done
pass "(b) standby replicated within 1 s and persisted across a full daemon restart"

# ---- (c) partition n3 away ----
t0=$(ms)
"$SB" partition n3
wait_until 30 "n3 not quorate" jq_node n3 'd["phase"] == "active" and not d["quorate"] and d["coordinator"] is None'
echo "figure: partition to n3 showing not quorate: $(($(ms) - t0)) ms"
wait_until 30 "n1 and n2 quorate with 2 members" jq_node n1 'd["quorate"] and len(d["members"]) == 2 and d["coordinator"]["name"] == "n1"'
echo "figure: partition to n1 showing 2-node quorate membership: $(($(ms) - t0)) ms"
wait_until 10 "n2 quorate with 2 members" jq_node n2 'd["quorate"] and len(d["members"]) == 2'
cli n3 node online n2
[ "$rc" = 4 ] || fail "change on minority n3: exit $rc, want 4 ($out)"
echo "$out" | grep -qi quorum || fail "minority refusal does not mention quorum: $out"
jq_node n3 'node("n2")["standby"]' || fail "refused change altered n3's state"
cli n2 node online n2
[ "$rc" = 0 ] || fail "change on majority n2: exit $rc ($out)"
cli n1 node maintenance n3
[ "$rc" = 0 ] || fail "change on majority n1: exit $rc ($out)"
jq_node n3 'node("n2")["standby"] and not node("n3")["maintenance"]' || fail "minority saw majority changes during the partition"
t0=$(ms)
"$SB" heal
wait_until 30 "n3 back, quorate, with the majority's changes" jq_node n3 'd["quorate"] and len(d["members"]) == 3 and not node("n2")["standby"] and node("n3")["maintenance"]'
echo "figure: heal to n3 showing the merged state: $(($(ms) - t0)) ms"
wait_until 10 "converged after heal" converged
pass "(c) minority refuses changes (exit 4); majority keeps a coordinator; its changes reach n3 after the heal"

# ---- (d) one droverd killed and restarted re-syncs ----
pid=$(cat "$DROVER_SANDBOX_DIR/n2/pids/droverd.pid")
kill -KILL "$pid"
wait_until 15 "n1 sees 2 members" jq_node n1 'd["quorate"] and len(d["members"]) == 2'
cli n2 status
[ "$rc" = 3 ] || fail "status with droverd down: exit $rc, want 3 ($out)"
cli n1 node ready n3
[ "$rc" = 0 ] || fail "node ready n3 while n2's droverd is down: exit $rc ($out)"
cli n1 node standby n1
[ "$rc" = 0 ] || fail "node standby n1 while n2's droverd is down: exit $rc ($out)"
"$SB" start-droverd n2
wait_until 30 "n2 re-synced" jq_node n2 'd["phase"] == "active" and d["quorate"] and node("n1")["standby"] and not node("n3")["maintenance"]'
wait_until 10 "converged after restart" converged
pass "(d) a killed droverd restarts, reports 'not running' (exit 3) meanwhile, and re-syncs"

# ---- corosync dies under a running droverd, then comes back: droverd rejoins ----
kill -KILL "$(cat "$DROVER_SANDBOX_DIR/n3/pids/corosync.pid")"
wait_until 20 "n3's droverd notices corosync is gone" jq_node n3 'not d["corosync_connected"] and d["phase"] == "down"'
cli n3 node standby n3
[ "$rc" != 0 ] || fail "a change was accepted on n3 without corosync"
wait_until 20 "n1 sees 2 members" jq_node n1 'd["quorate"] and len(d["members"]) == 2'
t0=$(ms)
"$SB" start-node n3
wait_until 60 "n3's droverd rejoined after corosync came back" jq_node n3 'd["corosync_connected"] and d["phase"] == "active" and d["quorate"] and len(d["members"]) == 3'
echo "figure: corosync back on n3 to droverd rejoined and quorate: $(($(ms) - t0)) ms"
wait_until 10 "converged after corosync restart" converged
pass "droverd survives corosync's death, refuses changes meanwhile, and rejoins when it is back"

# ---- (e) malformed and forged messages from a foreign CPG member ----
before=$(get n2 '(d["seq"], sorted((n["name"], n["admin"]) for n in d["nodes"]))')
"$SB" exec n3 "$INJECT" --group drover
wait_until 15 "converged after the injector left" converged
for n in n1 n2 n3; do
    after=$(get "$n" '(d["seq"], sorted((n["name"], n["admin"]) for n in d["nodes"]))')
    [ "$after" = "$before" ] || fail "state changed on $n: before $before, after $after"
    "$SB" exec "$n" grep -q "dropped a malformed message" /var/log/drover/droverd.log ||
        fail "no 'dropped a malformed message' in $n's log"
done
for n in n1 n2 n3; do
    kill -0 "$(cat "$DROVER_SANDBOX_DIR/$n/pids/droverd.pid")" || fail "droverd on $n died"
done
pass "(e) malformed, oversized, wrong-version and forged messages dropped; no crash, no change"

echo "all foundation checks passed"
