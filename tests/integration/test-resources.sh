#!/bin/bash
# Issue 4 acceptance on a 3-node sandbox with libvirtd and QEMU (TCG) per node, checked
# against every node's libvirtd, not only Drover's view: six VMs each running exactly once;
# a killed QEMU restarted; stop, start, move and clear; restarting every droverd and one
# libvirtd changes nothing; remove stops; bad input refused with nothing changed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_sandbox_prereqs
for t in libvirtd virsh qemu-system-x86_64; do
    command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
done

cleanup() {
    "$SB" down >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

"$SB" up -n 3 --libvirt --droverd "$DROVERD" --drover "$DROVER"
wait_until 60 "3 nodes converged" converged 3
X="$DROVER_SANDBOX_DIR/shared"
uuid_of() { printf '00000000-0000-4000-8000-0000000000d%s' "$1"; }
for k in 1 2 3 4 5 6 7; do
    make_domain "vm$k" "$(uuid_of "$k")" "$X/vm$k.xml"
done

# ---- bad input changes nothing ----
seq0=$(get n1 'd["seq"]')
cli n1 resource add bad --domain-xml "$X/missing.xml"
[ "$rc" = 2 ] || fail "missing XML file: exit $rc, want 2 ($out)"
printf '<domain type="qemu"><name>x</name>' >"$X/broken.xml"
cli n1 resource add bad --domain-xml "$X/broken.xml"
[ "$rc" = 2 ] || fail "malformed XML: exit $rc, want 2 ($out)"
sed 's/<domain type=.qemu.>/<domain type="qemu"><frobnicate\/>/; s/vm7/bad/' "$X/vm7.xml" >"$X/rejected.xml"
cli n1 resource add bad --domain-xml "$X/rejected.xml"
[ "$rc" = 2 ] || fail "XML libvirt rejects: exit $rc, want 2 ($out)"
echo "rejected XML: $out"
grep -v '<uuid>' "$X/vm7.xml" >"$X/nouuid.xml"
cli n1 resource add bad --domain-xml "$X/nouuid.xml"
[ "$rc" = 2 ] || fail "XML without uuid: exit $rc, want 2 ($out)"
cli n1 resource add vm7 --domain-xml "$X/vm7.xml" --prefer nosuchnode
[ "$rc" = 5 ] || fail "unknown preferred node: exit $rc, want 5 ($out)"
cli n1 resource add 'bad name' --domain-xml "$X/vm7.xml"
[ "$rc" = 2 ] || fail "bad resource name: exit $rc, want 2 ($out)"
cli n1 resource stop nosuch
[ "$rc" = 5 ] || fail "unknown resource: exit $rc, want 5 ($out)"
[ "$(get n1 'd["seq"]')" = "$seq0" ] || fail "refused input changed the state"
for k in 1 2 3; do
    [ -z "$(vsh "n$k" list --all --name)" ] || fail "refused input left a domain on n$k"
done
pass "bad input refused (exit 2/5), state and hypervisors untouched"

# ---- six VMs, each running exactly once ----
for k in 1 2 3 4 5 6; do
    t0=$(ms)
    cli n$(((k - 1) % 3 + 1)) resource add "vm$k" --domain-xml "$X/vm$k.xml"
    [ "$rc" = 0 ] || fail "resource add vm$k: exit $rc ($out)"
    wait_until 60 "vm$k running once" runs_once "$(uuid_of "$k")"
    echo "figure: resource add to vm$k running: $(($(ms) - t0)) ms"
done
for k in 1 2 3 4 5 6; do
    node=$(where_running "$(uuid_of "$k")")
    wait_until 20 "status shows vm$k running on $node" \
        jq_node n3 "next(r for r in d['resources'] if r['name'] == 'vm$k')['running_on'] == ['$node']"
done
cli n2 resource add vm7 --domain-xml "$X/vm1.xml"
[ "$rc" = 1 ] || fail "second resource for vm1's domain: exit $rc, want 1 ($out)"
cli n2 resource add vm1 --domain-xml "$X/vm7.xml"
[ "$rc" = 1 ] || fail "resource name taken: exit $rc, want 1 ($out)"
pass "six VMs run exactly once each, as every libvirtd sees it"

# ---- a killed QEMU is restarted ----
u1=$(uuid_of 1)
n1node=$(where_running "$u1")
pid=$(qemu_pid "$n1node" vm1)
[ -n "$pid" ] || fail "no QEMU pid for vm1 on $n1node"
t0=$(ms)
kill -KILL "$pid"
restarted() {
    local w p
    w=$(where_running "$u1")
    [ "$(printf '%s' "$w" | grep -c .)" = 1 ] || return 1
    p=$(qemu_pid "$w" vm1) && [ -n "$p" ] && [ "$p" != "$pid" ]
}
wait_until 60 "vm1 running again after its QEMU was killed" restarted
echo "figure: QEMU kill to vm1 running again: $(($(ms) - t0)) ms (on $(where_running "$u1"))"
wait_until 20 "vm1's last failure shown" jq_node n1 "next(r for r in d['resources'] if r['name'] == 'vm1')['last_failure'] is not None"
pass "a killed QEMU is restarted and the failure is shown"

# ---- killed max_failures (3) times on one node: relocated by the policy ----
u5=$(uuid_of 5)
home=$(where_running "$u5")
for round in 1 2 3; do
    pid=$(qemu_pid "$home" vm5)
    [ -n "$pid" ] || fail "no QEMU pid for vm5 on $home (kill $round)"
    kill -KILL "$pid"
    if [ "$round" -lt 3 ]; then
        again_on_home() {
            local p
            runs_once "$u5" "$home" && p=$(qemu_pid "$home" vm5) && [ -n "$p" ] && [ "$p" != "$pid" ]
        }
        wait_until 60 "vm5 restarted in place on $home (failure $round)" again_on_home
    fi
done
moved_off_home() {
    local w
    w=$(where_running "$u5") || return 1
    [ "$(printf '%s' "$w" | grep -c .)" = 1 ] && [ "$w" != "$home" ]
}
wait_until 60 "vm5 relocated off $home after 3 failures there" moved_off_home
jq_node n2 "next(r for r in d['resources'] if r['name'] == 'vm5')['nodes']['$home']['failures'] == 3" ||
    fail "vm5's failure count on $home is not 3"
pass "restarted in place twice, then relocated from $home to $(where_running "$u5") on the third failure"

# ---- stop, start, move, clear ----
u2=$(uuid_of 2)
cli n3 resource stop vm2
[ "$rc" = 0 ] || fail "resource stop vm2: exit $rc ($out)"
wait_until 60 "vm2 stopped everywhere" runs_nowhere "$u2"
cli n3 resource start vm2
[ "$rc" = 0 ] || fail "resource start vm2: exit $rc ($out)"
wait_until 60 "vm2 running once" runs_once "$u2"
u3=$(uuid_of 3)
from=$(where_running "$u3")
to=n1
[ "$from" = n1 ] && to=n2
cli n1 resource move vm3 "$to"
[ "$rc" = 0 ] || fail "resource move vm3 $to: exit $rc ($out)"
wait_until 60 "vm3 running once on $to" runs_once "$u3" "$to"
cli n1 resource move vm3 nosuchnode
[ "$rc" = 5 ] || fail "move to unknown node: exit $rc, want 5 ($out)"
cli n1 resource clear vm3
[ "$rc" = 0 ] || fail "resource clear vm3: exit $rc ($out)"
wait_until 20 "vm3's constraint cleared" jq_node n2 "next(r for r in d['resources'] if r['name'] == 'vm3')['move_to'] is None"
runs_once "$u3" "$to" || fail "clear moved vm3 off $to"
pass "stop, start, move and clear do what they say"

# ---- standby drains a node by live migration ----
count_on() { # NODE: how many of vm1..vm6 its libvirtd runs
    vsh "$1" list --uuid | grep -c '00000000-0000-4000-8000-0000000000d' || true
}
drain=n1
for n in n2 n3; do
    [ "$(count_on "$n")" -gt "$(count_on "$drain")" ] && drain=$n
done
on_drain=""
for k in 1 2 3 4 5 6; do
    [ "$(where_running "$(uuid_of "$k")")" = "$drain" ] && on_drain="$on_drain $k"
done
[ -n "$on_drain" ] || fail "no VM on $drain to drain"
t0=$(ms)
cli n2 node standby "$drain"
[ "$rc" = 0 ] || fail "node standby $drain: exit $rc ($out)"
drained() {
    local k w
    for k in $on_drain; do
        w=$(where_running "$(uuid_of "$k")") || return 1
        [ "$(printf '%s' "$w" | grep -c .)" = 1 ] && [ "$w" != "$drain" ] || return 1
    done
}
wait_until 90 "every VM of $drain running once elsewhere" drained
echo "figure: standby of $drain (VMs:$on_drain) to all running elsewhere: $(($(ms) - t0)) ms"
for k in $on_drain; do
    w=$(where_running "$(uuid_of "$k")")
    info=$(vsh "$w" domjobinfo --completed "vm$k" 2>&1 || true)
    echo "$info" | grep -qi "incoming migration" || fail "vm$k reached $w without a live migration: $info"
    echo "figure: vm$k live-migrated $drain -> $w, $(echo "$info" | grep -i 'total downtime' | sed 's/  */ /g')"
done
cli n2 node online "$drain"
[ "$rc" = 0 ] || fail "node online $drain: exit $rc ($out)"
pass "standby of $drain emptied it by live migration (VMs:$on_drain)"

# ---- a move in flight survives the coordinator's death ----
coord=$(get n2 'd["coordinator"]["name"]')
pick=""
for k in 1 2 3 4 5; do
    w=$(where_running "$(uuid_of "$k")")
    if [ "$w" != "$coord" ]; then
        pick=$k
        from=$w
        break
    fi
done
[ -n "$pick" ] || fail "every VM runs on the coordinator $coord"
for n in n1 n2 n3; do
    [ "$n" != "$coord" ] && [ "$n" != "$from" ] && to=$n
done
other=$from
cli "$other" resource move "vm$pick" "$to"
[ "$rc" = 0 ] || fail "resource move vm$pick $to: exit $rc ($out)"
kill -KILL "$(cat "$DROVER_SANDBOX_DIR/$coord/pids/droverd.pid")"
wait_until 60 "vm$pick running once on $to after the coordinator $coord died" runs_once "$(uuid_of "$pick")" "$to"
newc=$(get "$other" 'd["coordinator"]["name"]')
[ "$newc" != "$coord" ] || fail "no new coordinator after $coord's droverd died"
"$SB" start-droverd "$coord"
wait_until 60 "converged after $coord's droverd came back" converged 3
cli "$other" resource clear "vm$pick"
[ "$rc" = 0 ] || fail "resource clear vm$pick: exit $rc ($out)"
pass "a move requested just before the coordinator ($coord) died completed under $newc"

# ---- restarting every droverd causes no VM lifecycle event ----
snapshot() { # uuid node qemu-pid, for every VM
    local k w
    for k in 1 2 3 4 5 6; do
        w=$(where_running "$(uuid_of "$k")")
        echo "vm$k $w $(qemu_pid "$w" "vm$k")"
    done
}
wait_until 30 "all six reported running" jq_node n1 "sum(1 for r in d['resources'] if r['state'] == 'running') == 6"
before=$(snapshot)
for n in n1 n2 n3; do "$SB" stop-droverd "$n"; done
for n in n1 n2 n3; do "$SB" start-droverd "$n"; done
wait_until 60 "converged after restarting every droverd" converged 3
wait_until 30 "all six reported running again" jq_node n2 "sum(1 for r in d['resources'] if r['state'] == 'running') == 6"
after=$(snapshot)
[ "$before" = "$after" ] || fail "VMs changed across a droverd restart:
before: $before
after:  $after"
pass "restarting droverd on all nodes: every VM kept its node and QEMU process"

# ---- restarting one libvirtd causes no recovery elsewhere ----
busy=$(echo "$before" | awk '{print $2}' | sort | uniq -c | sort -rn | awk 'NR == 1 {print $2}')
"$SB" restart-libvirtd "$busy"
wait_until 60 "libvirtd on $busy lists its VMs again" vsh "$busy" list --uuid
after=$(snapshot)
[ "$before" = "$after" ] || fail "VMs changed across a libvirtd restart on $busy:
before: $before
after:  $after"
pass "restarting libvirtd on $busy: no VM moved or restarted"

# ---- a second copy started behind Drover's back is stopped; the assigned one stays ----
u2=$(uuid_of 2)
home=$(where_running "$u2")
pid=$(qemu_pid "$home" vm2)
for n in n1 n2 n3; do
    [ "$n" != "$home" ] && stray=$n
done
vsh "$stray" create "$X/vm2.xml" >/dev/null
t0=$(ms)
wait_until 30 "the stray copy of vm2 on $stray stopped" runs_once "$u2" "$home"
[ "$(qemu_pid "$home" vm2)" = "$pid" ] || fail "the assigned copy of vm2 on $home was restarted"
echo "figure: stray copy of vm2 on $stray stopped after $(($(ms) - t0)) ms"
pass "a stray copy on $stray was stopped once the assigned copy on $home was confirmed running"

# ---- removing a resource stops it ----
u6=$(uuid_of 6)
cli n2 resource remove vm6
[ "$rc" = 0 ] || fail "resource remove vm6: exit $rc ($out)"
wait_until 60 "vm6 stopped everywhere" runs_nowhere "$u6"
wait_until 30 "vm6 forgotten" jq_node n3 "all(r['name'] != 'vm6' for r in d['resources'])"
for k in 1 2 3 4 5; do
    wait_until 10 "vm$k running exactly once at the end" runs_once "$(uuid_of "$k")"
done
pass "remove stops the VM and forgets it; the other five still run once each"
echo "all resource checks passed"
