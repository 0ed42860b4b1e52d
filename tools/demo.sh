#!/bin/bash
# Drover demo: install what is needed, build, start a 3-node sandbox cluster (corosync,
# libvirtd and droverd per node in its own namespaces), start VMs on it (QEMU under TCG), and
# walk through status, a crashed VM, a standby that moves VMs away, a partition and the
# heal. Run as root on Debian 12. --keep leaves the cluster running afterwards
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

step "Start a 3-node sandbox cluster: corosync, libvirtd and droverd in namespaces n1, n2, n3"
"$SB" up -n 3 --libvirt --droverd "$B/agent/droverd" --drover "$B/tools/drover"
until_status n1 'd["quorate"] and len(d["members"]) == 3'
show n1 status

step "Add four VMs (tiny diskless QEMU/TCG domains); the coordinator places them"
X="${DROVER_SANDBOX_DIR:-/tmp/drover-sandbox}/shared"
k=0
for vm in web1 web2 db1 db2; do
    k=$((k + 1))
    sed "s|<name>tiny</name>|<name>$vm</name><uuid>00000000-0000-4000-8000-0000000000e$k</uuid>|" \
        "$X/tiny.xml" >"$X/$vm.xml"
done
show n1 resource add web1 --domain-xml "$X/web1.xml"
show n1 resource add web2 --domain-xml "$X/web2.xml" --prefer n3:200
show n2 resource add db1 --domain-xml "$X/db1.xml" --priority high --anti-affinity db
show n3 resource add db2 --domain-xml "$X/db2.xml" --priority high --anti-affinity db
until_status n1 'sum(1 for r in d["resources"] if r["state"] == "running") == 4'
show n2 status
for n in n1 n2 n3; do
    echo "# virsh list on $n:"
    "$SB" exec "$n" virsh -q -c qemu:///system list
done

step "Kill web1's QEMU behind Drover's back: it is restarted in place"
where=$("$SB" drover n1 --output-as json status | python3 -c 'import json,sys; print(next(r for r in json.load(sys.stdin)["resources"] if r["name"] == "web1")["running_on"][0])')
pid=$("$SB" exec "$where" cat /run/libvirt/qemu/web1.pid)
kill -KILL "$pid"
echo "# killed QEMU pid $pid on $where"
until_status n1 'next(r for r in d["resources"] if r["name"] == "web1")["state"] == "running" and next(r for r in d["resources"] if r["name"] == "web1")["last_failure"]'
show n1 resource show web1

step "Put n2 in standby from n1: its VMs are live-migrated to the other nodes"
on_n2=$("$SB" exec n2 virsh -q -c qemu:///system list --name)
echo "# running on n2 now: $(echo $on_n2)"
show n1 node standby n2
until_status n3 'all("n2" not in r["running_on"] for r in d["resources"]) and sum(1 for r in d["resources"] if r["state"] == "running") == 4'
show n3 status
for vm in $on_n2; do
    for n in n1 n3; do
        if "$SB" exec "$n" virsh -q -c qemu:///system domstate "$vm" 2>/dev/null | grep -q running; then
            echo "# $vm now on $n; libvirt's record of the move there:"
            "$SB" exec "$n" virsh -c qemu:///system domjobinfo --completed "$vm" |
                grep -E "Operation|Time elapsed:|Total downtime"
        fi
    done
done

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
