#!/bin/sh
# droverd + drover end to end without corosync: droverd runs in a private network namespace
# (so no corosync is reachable and its abstract IPC socket is private), retries corosync on
# its back-off timer, and still answers the CLI. Checks the CLI's exit codes and JSON output,
# permission refusal, and a clean SIGTERM exit. Needs root (unshare -n); skipped otherwise.
# Then, when corosync is installed, a one-node corosync in the same private namespaces (own
# /run and /dev/shm) and a fresh droverd with libvirt's test driver: the resource commands end
# to end (add, exists, libvirt's refusal, stop/move/clear/start, show, remove).
set -u
: "${DROVER_BUILDDIR:?run through make check}"
DROVERD="$DROVER_BUILDDIR/agent/droverd"
DROVER="$DROVER_BUILDDIR/tools/drover"

if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root for a private network namespace (unshare -n)" >&2
    exit 77
fi
if [ "${DRV_IN_NS:-}" != 1 ]; then
    command -v unshare >/dev/null 2>&1 || { echo "SKIP: unshare not installed" >&2; exit 77; }
    DRV_IN_NS=1 exec unshare -n -m "$0" "$@"
fi

failures=0
passes=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/drv-cli-XXXXXX")
dpid=
cpid=
cleanup() {
    [ -n "$dpid" ] && kill "$dpid" 2>/dev/null
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null && wait "$cpid"
    mountpoint -q /dev/shm && umount /dev/shm 2>/dev/null
    mountpoint -q /run && umount /run 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ok() { passes=$((passes + 1)); echo "ok - $*"; }
bad() { failures=$((failures + 1)); echo "not ok - $*"; }

# expect CODE DESCRIPTION CMD...: run CMD, compare its exit code.
expect() {
    want=$1 desc=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" = "$want" ]; then ok "$desc (exit $got)"; else
        bad "$desc: exit $got, want $want; stderr: $(cat "$tmp/err")"; fi
}

cat >"$tmp/drover.conf" <<EOC
[daemon]
state_dir = $tmp/state
ipc_name = drv-test-$$
cpg_group = drv-test-$$
request_timeout_ms = 1000
[resources]
libvirt_uri = test:///default
[logging]
to_syslog = false
logfile = $tmp/droverd.log
debug = true
EOC
printf '[daemon]\nbogus = 1\n' >"$tmp/bad.conf"

expect 2 "droverd refuses an unknown key" "$DROVERD" -f -c "$tmp/bad.conf"
grep -q "bad.conf: \[daemon\] bogus" "$tmp/err" && ok "config error names file, group and key" ||
    bad "config error message: $(cat "$tmp/err")"
expect 3 "CLI without droverd: not running" "$DROVER" --ipc-name "drv-test-$$" status

# A corrupt state file is set aside, named in the log, and droverd starts empty.
mkdir -p "$tmp/state"
printf 'this is not a drover state file' >"$tmp/state/state.bin"

"$DROVERD" -f -c "$tmp/drover.conf" &
dpid=$!
i=0
until "$DROVER" --ipc-name "drv-test-$$" status >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 100 ] || { bad "droverd did not answer within 10 s"; exit 1; }
    sleep 0.1 # poll for the daemon's socket
done
D="$DROVER --ipc-name drv-test-$$"

expect 0 "status without corosync" $D status
grep -q "NOT CONNECTED" "$tmp/out" && ok "status says corosync is not connected" ||
    bad "status text: $(cat "$tmp/out")"
expect 0 "status as JSON" $D --output-as json status
grep -q '"corosync_connected" : false' "$tmp/out" && ok "JSON status has corosync_connected" ||
    bad "JSON status: $(cat "$tmp/out")"
expect 0 "node list" $D node list

# Requests the CLI never builds, through a raw IPC client.
RAW="$DROVER_BUILDDIR/tests/unit/ipc-raw"
# 200 KB of nested arrays: json-glib's recursion used to overflow droverd's stack (exit 139)
{
    printf '{"op": "status", "x": '
    head -c 100000 /dev/zero | tr '\0' '['
    head -c 100000 /dev/zero | tr '\0' ']'
    printf '}'
} >"$tmp/deep.json"
expect 0 "a 200 KB nested-array request is answered" "$RAW" "drv-test-$$" <"$tmp/deep.json"
grep -q '"rc":-1001' "$tmp/out" && grep -q "nested too deeply" "$tmp/out" &&
    ok "nested request refused with an error reply" || bad "reply: $(cat "$tmp/out")"
kill -0 "$dpid" 2>/dev/null && ok "droverd still alive after the nested request" ||
    bad "droverd died on the nested request"
expect 0 "droverd still answers after the nested request" $D status
printf '{"op": "status", "x": "[[[[\\"]]]]"}' >"$tmp/strbr.json"
expect 0 "brackets inside strings do not count as nesting" "$RAW" "drv-test-$$" <"$tmp/strbr.json"
grep -q '"rc":0' "$tmp/out" && ok "request with brackets in a string served" ||
    bad "reply: $(cat "$tmp/out")"
# cluster properties without corosync: the defaults, and refusals on both sides
expect 0 "property list without corosync" $D property list
grep -q "^failure-threshold  *3  *(default)" "$tmp/out" && ok "property list shows defaults" ||
    bad "stdout: $(cat "$tmp/out")"
expect 2 "property set of an unknown key (CLI)" $D property set no-such-key 1
grep -q "valid: failure-threshold" "$tmp/err" && ok "unknown key message lists the valid ones" ||
    bad "stderr: $(cat "$tmp/err")"
expect 2 "property set of a bad value (CLI)" $D property set failure-threshold 0
printf '{"op": "property-set", "key": "no-such-key", "value": "1"}' >"$tmp/p1.json"
expect 0 "property-set of an unknown key sent raw" "$RAW" "drv-test-$$" <"$tmp/p1.json"
grep -q '"rc":-1001' "$tmp/out" && grep -q "unknown property" "$tmp/out" &&
    ok "droverd refuses an unknown property" || bad "reply: $(cat "$tmp/out")"
printf '{"op": "property-set", "key": "balance-level", "value": "extreme"}' >"$tmp/p2.json"
expect 0 "property-set of a bad value sent raw" "$RAW" "drv-test-$$" <"$tmp/p2.json"
grep -q '"rc":-1001' "$tmp/out" && ok "droverd refuses a bad property value" ||
    bad "reply: $(cat "$tmp/out")"
printf '{"op": "status"' >"$tmp/trunc.json"
expect 0 "a truncated request is answered" "$RAW" "drv-test-$$" <"$tmp/trunc.json"
grep -q '"rc":-1001' "$tmp/out" && ok "truncated request refused" || bad "reply: $(cat "$tmp/out")"
expect 1 "a second droverd on the same IPC name refuses to start" "$DROVERD" -f -c "$tmp/drover.conf"
expect 0 "the first droverd still answers" $D status
expect 5 "standby of a node not in the nodelist" $D node standby ghost
grep -q "unknown node" "$tmp/err" && ok "unknown node message" || bad "stderr: $(cat "$tmp/err")"
expect 5 "JSON error reply" $D --output-as json node standby ghost
grep -q '"rc" : -1004' "$tmp/out" && ok "JSON error carries rc" || bad "stdout: $(cat "$tmp/out")"
expect 1 "standby of the local node while corosync is away" $D node standby
expect 2 "bad arguments" $D node frobnicate
expect 2 "bad --output-as" $D --output-as yaml status

# resource commands without corosync: refusals that need no cluster
cat >"$tmp/vm1.xml" <<EOX
<domain type='kvm'>
  <name>vm1</name>
  <uuid>6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11</uuid>
  <memory unit='MiB'>512</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
EOX
sed '/<uuid>/d' "$tmp/vm1.xml" >"$tmp/nouuid.xml"
printf '<domain>\377\376</domain>\n' >"$tmp/latin1.xml"
head -c 300000 /dev/zero | tr '\0' 'x' >"$tmp/huge.xml"
# 200 KiB of comment full of quotes: over libcrmcommon's 128 KiB IPC default once escaped
{
    sed '$d' "$tmp/vm1.xml"
    printf '<!-- '
    i=0
    while [ $i -lt 3200 ]; do
        printf '"quoted" "text" "to" "be" "escaped" "by" "json" "" \n'
        i=$((i + 1))
    done
    printf ' -->\n</domain>\n'
} >"$tmp/big.xml"
expect 0 "resource list, none" $D resource list
grep -q "No resources" "$tmp/out" && ok "resource list says none" || bad "stdout: $(cat "$tmp/out")"
expect 0 "resource list as JSON" $D --output-as json resource list
grep -q '"resources" : \[' "$tmp/out" && ok "JSON resource list" || bad "stdout: $(cat "$tmp/out")"
$D status >"$tmp/out" 2>&1
grep -q "^Resources:" "$tmp/out" && ok "status has a Resources section" || bad "status: $(cat "$tmp/out")"
$D --output-as json status >"$tmp/out" 2>&1
grep -q '"resources" : \[' "$tmp/out" && ok "JSON status has resources" || bad "status: $(cat "$tmp/out")"
expect 5 "show of an unknown resource" $D resource show ghost
grep -q "unknown resource: ghost" "$tmp/err" && ok "unknown resource message" ||
    bad "stderr: $(cat "$tmp/err")"
expect 5 "JSON error of an unknown resource" $D --output-as json resource start ghost
grep -q '"rc" : -1012' "$tmp/out" && ok "JSON carries -1012" || bad "stdout: $(cat "$tmp/out")"
expect 5 "stop of an unknown resource" $D resource stop ghost
expect 5 "remove of an unknown resource" $D resource remove ghost
expect 5 "move of an unknown resource" $D resource move ghost node1
expect 5 "clear of an unknown resource" $D resource clear ghost
expect 2 "add: missing XML file" $D resource add vm1 --domain-xml "$tmp/none.xml"
grep -q "none.xml" "$tmp/err" && ok "missing file named" || bad "stderr: $(cat "$tmp/err")"
expect 2 "add: XML not UTF-8" $D resource add vm1 --domain-xml "$tmp/latin1.xml"
expect 2 "add: XML over 256 KiB" $D resource add vm1 --domain-xml "$tmp/huge.xml"
expect 2 "add: XML without uuid" $D resource add vm1 --domain-xml "$tmp/nouuid.xml"
grep -qi "uuid" "$tmp/err" && ok "parser message passed on" || bad "stderr: $(cat "$tmp/err")"
expect 2 "add: not XML" $D resource add vm1 --domain-xml "$tmp/drover.conf"
expect 5 "add: preferred node not in the nodelist" $D resource add vm1 --domain-xml "$tmp/vm1.xml" --prefer ghost:10
grep -q "ghost" "$tmp/err" && ok "unknown preferred node named" || bad "stderr: $(cat "$tmp/err")"
expect 1 "add while corosync is away" $D resource add vm1 --domain-xml "$tmp/vm1.xml" --priority high
grep -q "corosync" "$tmp/err" && ok "not connected message" || bad "stderr: $(cat "$tmp/err")"
expect 1 "add of a 200 KiB XML reaches droverd" $D resource add vm1 --domain-xml "$tmp/big.xml"
grep -q "corosync" "$tmp/err" && ok "large request carried over IPC" || bad "stderr: $(cat "$tmp/err")"
expect 2 "add: bad resource name" $D resource add 'bad/name' --domain-xml "$tmp/vm1.xml"
expect 2 "move without a node" $D resource move vm1
expect 2 "--xml on a change" $D resource start vm1 --xml
if command -v setpriv >/dev/null 2>&1 && ! getent group haclient >/dev/null 2>&1; then
    expect 7 "nobody is refused" setpriv --reuid=65534 --regid=65534 --clear-groups $D status
fi
kill -USR1 "$dpid"
i=0
until ls "$tmp/state"/droverd-blackbox-* >/dev/null 2>&1; do
    i=$((i + 1))
    [ $i -lt 50 ] || break
    sleep 0.1 # the dump is written by the daemon's loop
done
ls "$tmp/state"/droverd-blackbox-* >/dev/null 2>&1 && ok "SIGUSR1 dumps the blackbox" ||
    bad "no blackbox dump after SIGUSR1"
grep -q "Corosync not available" "$tmp/droverd.log" && ok "corosync absence logged" ||
    bad "no 'Corosync not available' in the log"
aside=$(ls "$tmp/state"/state.bin.corrupt-* 2>/dev/null | head -n 1)
if [ -n "$aside" ] && grep -q "set aside as $aside" "$tmp/droverd.log"; then
    ok "corrupt state set aside and named in the log"
else
    bad "corrupt state: set-aside file '$aside', log: $(grep -i corrupt "$tmp/droverd.log")"
fi

kill -TERM "$dpid"
wait "$dpid"
rc=$?
dpid=
[ "$rc" = 0 ] && ok "SIGTERM: clean exit" || bad "SIGTERM: exit $rc"
expect 3 "CLI after droverd stopped" $D status

# --- with a one-node corosync ------------------------------------------------------------
# wait_for DESC CMD...: poll CMD (0.1 s steps, 20 s at most) until it succeeds.
wait_for() {
    desc=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 200 ] || { bad "$desc: not within 20 s"; return 1; }
        sleep 0.1 # polling the daemons
    done
    ok "$desc"
}
status_has() { $D status 2>/dev/null | grep -q "$1"; }
list_has() { $D resource list 2>/dev/null | grep -q "$1"; }

if ! command -v corosync >/dev/null 2>&1; then
    echo "# corosync not installed: resource commands end to end skipped"
else
    mkdir -p "$tmp/run" "$tmp/shm" "$tmp/cs" "$tmp/state2"
    mount --bind "$tmp/run" /run && mount --bind "$tmp/shm" /dev/shm
    ip link set lo up
    cat >"$tmp/corosync.conf" <<EOC
totem {
    version: 2
    cluster_name: drvtest
    transport: knet
    token: 1000
}
system {
    state_dir: $tmp/cs
    sched_rr: no
    move_to_root_cgroup: no
}
logging {
    to_logfile: yes
    logfile: $tmp/corosync.log
    to_syslog: no
    to_stderr: no
}
quorum {
    provider: corosync_votequorum
}
nodelist {
    node {
        name: n1
        nodeid: 1
        ring0_addr: 127.0.0.1
    }
}
EOC
    sed "s|$tmp/state\$|$tmp/state2|" "$tmp/drover.conf" >"$tmp/drover2.conf"
    corosync -f -c "$tmp/corosync.conf" >/dev/null 2>&1 &
    cpid=$!
    "$DROVERD" -f -c "$tmp/drover2.conf" &
    dpid=$!
    wait_for "droverd quorate with a one-node corosync" status_has "^Quorum: *yes"
    sed 's/vm1/vm2/; s/6f0e3a52/7f0e3a52/; s|<os>.*</os>|<os><type>hvm</type><bogus/></os>|' \
        "$tmp/vm1.xml" >"$tmp/vm2.xml"
    sed 's/vm1/vm3/; s/6f0e3a52/8f0e3a52/' "$tmp/vm1.xml" >"$tmp/vm3.xml"
    sed 's/<name>vm1/<name>vm4/' "$tmp/vm1.xml" >"$tmp/vm4.xml"

    expect 0 "resource add" $D resource add vm1 --domain-xml "$tmp/vm1.xml" --prefer n1:10 \
        --priority high --anti-affinity web
    grep -q "vm1 added (domain vm1, uuid 6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11" "$tmp/out" &&
        ok "add names domain and uuid" || bad "stdout: $(cat "$tmp/out")"
    expect 1 "add of a name already managed" $D resource add vm1 --domain-xml "$tmp/vm3.xml"
    grep -q "already" "$tmp/err" && ok "exists message" || bad "stderr: $(cat "$tmp/err")"
    expect 1 "add of a UUID already managed" $D resource add vm4 --domain-xml "$tmp/vm4.xml"
    grep -q "UUID 6f0e3a52-3c1e-4b8a-9d8e-2a5c1f0b7e11 is already managed as resource vm1" \
        "$tmp/err" && ok "exists message names the UUID" || bad "stderr: $(cat "$tmp/err")"
    expect 2 "add of XML libvirt refuses" $D resource add vm2 --domain-xml "$tmp/vm2.xml"
    expect 5 "add of XML libvirt refuses: nothing added" $D resource show vm2
    expect 0 "add --stopped as JSON" $D --output-as json resource add vm3 \
        --domain-xml "$tmp/vm3.xml" --stopped --cpu 1 --memory 256 --no-migrate
    grep -q '"uuid" : "8f0e3a52' "$tmp/out" && ok "JSON add reply" || bad "stdout: $(cat "$tmp/out")"
    wait_for "vm1 runs on n1" list_has "vm1  *running on n1"
    expect 0 "resource list" $D resource list
    grep -q "vm3  *stopped  *target stopped" "$tmp/out" && ok "stopped resource listed" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "resource show --output-as json" $D --output-as json resource show vm3
    grep -q '"memory_mib" : 256' "$tmp/out" && grep -q '"allow_migrate" : false' "$tmp/out" &&
        ! grep -q '"xml"' "$tmp/out" && ok "show: sizes and flags, no XML" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "resource show --xml" $D resource show vm1 --xml
    grep -q "Prefers: *n1:10" "$tmp/out" && grep -q "<uuid>6f0e3a52" "$tmp/out" &&
        ok "show text with XML" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "resource stop" $D resource stop vm1
    wait_for "vm1 stops" list_has "vm1  *stopped  *target stopped"
    expect 0 "resource move" $D resource move vm1 n1
    expect 5 "move to a node not in the nodelist" $D resource move vm1 n9
    expect 0 "node standby n1" $D node standby n1
    expect 8 "move to a node in standby is refused" $D resource move vm1 n1
    grep -q "cannot take the VM: n1 is in standby" "$tmp/err" && ok "standby refusal says why" ||
        bad "stderr: $(cat "$tmp/err")"
    expect 8 "JSON refusal of a move" $D --output-as json resource move vm1 n1
    grep -q '"rc" : -1016' "$tmp/out" && ok "JSON carries -1016" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "node online n1" $D node online n1
    sed 's/vm1/vm5/; s/6f0e3a52/9f0e3a52/' "$tmp/vm1.xml" >"$tmp/vm5.xml"
    expect 0 "add a VM bigger than the node" $D resource add vm5 --domain-xml "$tmp/vm5.xml" \
        --cpu 4096 --stopped
    expect 8 "move to a node without room is refused" $D resource move vm5 n1
    grep -q "n1 has no room for vm5: it needs 4096 vCPUs" "$tmp/err" && ok "room refusal says why" ||
        bad "stderr: $(cat "$tmp/err")"
    $D resource show vm5 >"$tmp/out" 2>&1
    grep -q "^Move to: *(no constraint)" "$tmp/out" && ok "refused move changed nothing" ||
        bad "show: $(cat "$tmp/out")"
    expect 0 "remove the big VM" $D resource remove vm5
    expect 0 "resource clear" $D resource clear vm1
    expect 0 "resource start" $D resource start vm1
    wait_for "vm1 runs again" list_has "vm1  *running on n1"
    expect 0 "resource remove" $D resource remove vm3
    expect 5 "start of a resource being removed or gone" $D resource start vm3
    wait_for "status lists the remaining resource" status_has "^  vm1  *running on n1"
    expect 0 "JSON status" $D --output-as json status
    grep -q '"state" : "running"' "$tmp/out" && ok "JSON status carries resource state" ||
        bad "stdout: $(cat "$tmp/out")"

    # cluster properties, replicated
    expect 0 "property set" $D property set failure-threshold 5
    grep -q "^failure-threshold = 5" "$tmp/out" && ok "property set output" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "property set of a duration as JSON" $D --output-as json property set failure-window 20m
    grep -q '"value" : "1200"' "$tmp/out" && ok "duration stored in seconds" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "property list" $D property list
    grep -q "^failure-threshold  *5  *3 " "$tmp/out" && grep -q "^failure-window  *1200 s  *600 s " "$tmp/out" &&
        grep -q "^balance-level  *off  *(default)" "$tmp/out" && ok "list shows values and defaults" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 2 "property set of a bad value" $D property set failure-threshold 1001
    expect 2 "property set of an unknown key" $D property set stonith-enabled true
    expect 0 "property list as JSON" $D --output-as json property list
    grep -q '"key" : "failure-threshold",  *"value" : "5"' "$tmp/out" ||
        tr -d '\n ' <"$tmp/out" | grep -q '"key":"failure-threshold","value":"5","default":"3","is_default":false' &&
        ok "refusals changed nothing" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "property unset" $D property unset failure-threshold
    grep -q "failure-threshold unset (default 3)" "$tmp/out" && ok "unset output" ||
        bad "stdout: $(cat "$tmp/out")"
    $D property list >"$tmp/out" 2>&1
    grep -q "^failure-threshold  *3  *(default)" "$tmp/out" && ok "back to the default" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 2 "property unset of an unknown key" $D property unset stonith-enabled

    kill -TERM "$dpid"
    wait "$dpid"
    rc=$?
    dpid=
    [ "$rc" = 0 ] && ok "SIGTERM with corosync: clean exit" || bad "SIGTERM: exit $rc"
fi

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
