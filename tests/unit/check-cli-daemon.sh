#!/bin/sh
# droverd + drover end to end without corosync: droverd runs in a private network namespace
# (so no corosync is reachable and its abstract IPC socket is private), retries corosync on
# its back-off timer, and still answers the CLI. Checks the CLI's exit codes and JSON output,
# permission refusal, and a clean SIGTERM exit. Needs root (unshare -n); skipped otherwise.
# Then, when corosync is installed, a one-node corosync in the same private namespaces (own
# /run and /dev/shm) and a fresh droverd with libvirt's test driver: the resource commands end
# to end (add, exists, libvirt's refusal, stop/move/clear/start, show, remove). Last, a
# corosync whose nodelist also has a node n2 that never joins: the fencing commands (devices,
# levels, secrets never shown nor logged, node fence waiting for rounds that fail, confirm-down,
# the fencing states of status, no-quorum-policy freeze).
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
# fencing commands without corosync: refusals that need no cluster
printf '#!/bin/sh\nexit 0\n' >"$tmp/fence_ok"
chmod +x "$tmp/fence_ok"
expect 0 "fence device list, none" $D fence device list
grep -q "No fence devices" "$tmp/out" && ok "fence device list says none" || bad "stdout: $(cat "$tmp/out")"
expect 0 "fence device list as JSON" $D --output-as json fence device list
grep -q '"devices" : \[' "$tmp/out" && ok "JSON device list" || bad "stdout: $(cat "$tmp/out")"
expect 0 "fence level list without corosync" $D fence level list
expect 0 "fence history, empty" $D fence history
grep -q "No fencing in the history" "$tmp/out" && ok "empty history" || bad "stdout: $(cat "$tmp/out")"
expect 5 "fence device show of an unknown device" $D fence device show ghost
grep -q "unknown fence device: ghost" "$tmp/err" && ok "unknown device message" ||
    bad "stderr: $(cat "$tmp/err")"
expect 5 "fence device remove of an unknown device" $D --output-as json fence device remove ghost
grep -q '"rc" : -1018' "$tmp/out" && ok "JSON carries -1018" || bad "stdout: $(cat "$tmp/out")"
expect 5 "fence device add for a node not in the nodelist" $D fence device add d1 \
    --agent "$tmp/fence_ok" --param password=hunter2 --nodes ghost
grep -q "unknown node: ghost" "$tmp/err" && ok "unknown fence target named" ||
    bad "stderr: $(cat "$tmp/err")"
expect 2 "fence device add with a relative agent (CLI)" $D fence device add d1 --agent fence_ok --nodes n1
expect 2 "fence device add with a line break in a value (CLI)" $D fence device add d1 \
    --agent "$tmp/fence_ok" --nodes n1 --param "password=hunter2
x"
grep -q "line break" "$tmp/err" && ! grep -q hunter2 "$tmp/err" && ok "line break refused, value not shown" ||
    bad "stderr: $(cat "$tmp/err")"
printf '{"op": "fence-device-add", "name": "d1", "agent": "%s", "nodes": ["n1"], "params": [{"key": "password", "value": "hunter2\\nx"}]}' \
    "$tmp/fence_ok" >"$tmp/f1.json"
expect 0 "fence-device-add with a line break sent raw" "$RAW" "drv-test-$$" <"$tmp/f1.json"
grep -q '"rc":-1001' "$tmp/out" && grep -q "line break" "$tmp/out" && ! grep -q hunter2 "$tmp/out" &&
    ok "droverd refuses a line break without echoing the value" || bad "reply: $(cat "$tmp/out")"
printf '{"op": "fence-level-add", "node": "n1", "index": 10, "devices": ["d1"]}' >"$tmp/f2.json"
expect 0 "fence-level-add with index 10 sent raw" "$RAW" "drv-test-$$" <"$tmp/f2.json"
grep -q '"rc":-1001' "$tmp/out" && ok "droverd refuses level 10" || bad "reply: $(cat "$tmp/out")"
printf '{"op": "fence-status", "node": "n1"}' >"$tmp/f3.json"
expect 0 "fence-status without an operation sent raw" "$RAW" "drv-test-$$" <"$tmp/f3.json"
grep -q '"rc":-1001' "$tmp/out" && ok "fence-status needs an operation" || bad "reply: $(cat "$tmp/out")"
expect 2 "fence level add with index 0 (CLI)" $D fence level add n1 0 d1
expect 5 "node fence of a node not in the nodelist" $D node fence ghost
expect 2 "node confirm-down without --yes" $D node confirm-down ghost
grep -q "will then be started on other nodes" "$tmp/err" && ok "confirm-down explains the danger" ||
    bad "stderr: $(cat "$tmp/err")"
expect 5 "node confirm-down of a node not in the nodelist" $D node confirm-down ghost --yes
expect 2 "no-quorum-policy freeze without a fence device" $D property set no-quorum-policy freeze
grep -q "only allowed with power fencing" "$tmp/err" && ok "freeze refusal says why" ||
    bad "stderr: $(cat "$tmp/err")"
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

    # --- fencing: a nodelist of two, n2 never joins (two_node: quorate alone) ---------------
    kill "$cpid" && wait "$cpid"
    cpid=
    mkdir -p "$tmp/cs3" "$tmp/state3"
    sed -e "s|$tmp/cs\$|$tmp/cs3|" -e 's|provider: corosync_votequorum|&\n    two_node: 1\n    wait_for_all: 0|' \
        -e 's|^nodelist {|nodelist {\n    node {\n        name: n2\n        nodeid: 2\n        ring0_addr: 127.0.0.2\n    }|' \
        "$tmp/corosync.conf" >"$tmp/corosync3.conf"
    sed "s|$tmp/state\$|$tmp/state3|; s|$tmp/droverd.log|$tmp/droverd3.log|" "$tmp/drover.conf" >"$tmp/drover3.conf"
    corosync -f -c "$tmp/corosync3.conf" >/dev/null 2>&1 &
    cpid=$!
    "$DROVERD" -f -c "$tmp/drover3.conf" &
    dpid=$!
    wait_for "droverd quorate with n2 away" status_has "^Quorum: *yes"
    printf '#!/bin/sh\nexit 1\n' >"$tmp/fence_fail"
    chmod +x "$tmp/fence_fail"
    printf 'not executable' >"$tmp/fence_noexec"

    expect 0 "status with n2 away" $D status
    grep -q "^    n2  *id 2  *OFFLINE  *online  *OFFLINE (clean)" "$tmp/out" &&
        grep -q "^Fencing: *enabled, 0 fence devices" "$tmp/out" && ok "n2 offline and clean" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 2 "fence device add: agent not executable here" $D fence device add sb-n2 \
        --agent "$tmp/fence_noexec" --nodes n2
    grep -q "installed on every node" "$tmp/err" && ok "agent refusal says where it must be" ||
        bad "stderr: $(cat "$tmp/err")"
    expect 2 "fence device add: no agent file" $D fence device add sb-n2 --agent "$tmp/none" --nodes n2
    expect 0 "fence device add" $D fence device add sb-n2 --agent "$tmp/fence_fail" \
        --param ipaddr=10.0.0.2 --param login=admin --param password=hunter2 --nodes n2
    grep -q "fence device sb-n2 added" "$tmp/out" && ok "device added" || bad "stdout: $(cat "$tmp/out")"
    expect 1 "fence device add of a name taken" $D fence device add sb-n2 --agent "$tmp/fence_ok" --nodes n2
    grep -q "already exists" "$tmp/err" && ok "exists message" || bad "stderr: $(cat "$tmp/err")"
    expect 0 "fence device add as JSON" $D --output-as json fence device add pdu \
        --agent "$tmp/fence_fail" --param community=s3cret --nodes n1,n2
    grep -q '"op" : "fence-device-add"' "$tmp/out" && ok "JSON add reply" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence device list" $D fence device list
    grep -q "sb-n2 .*params ipaddr=10.0.0.2 login=admin password=\*\*\*\*\*\*" "$tmp/out" &&
        grep -q "pdu .*community=\*\*\*\*\*\*  levels: n1 level 1 (implicit), n2 level 1 (implicit)" "$tmp/out" &&
        ok "list shows devices redacted, with their implicit levels" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence device show as JSON" $D --output-as json fence device show sb-n2
    grep -q '"value" : "\*\*\*\*\*\*"' "$tmp/out" && grep -q '"value" : "10.0.0.2"' "$tmp/out" &&
        ok "JSON show redacted" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence level add" $D fence level add n2 1 sb-n2 pdu
    expect 0 "fence level add replaces the level" $D fence level add n2 1 sb-n2
    grep -q "fencing level 1 of n2: sb-n2 (replaced)" "$tmp/out" && ok "level replaced" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence level add 2" $D fence level add n2 2 pdu
    expect 5 "fence level add of an unknown device" $D fence level add n2 3 nodev
    expect 2 "fence level add of a device that does not list the node" $D fence level add n1 1 sb-n2
    expect 5 "fence level add for a node not in the nodelist" $D fence level add n9 1 pdu
    expect 0 "fence level list" $D fence level list
    grep -q "^n1  *1  *pdu (implicit: no topology)" "$tmp/out" && grep -q "^n2  *1  *sb-n2$" "$tmp/out" &&
        grep -q "^n2  *2  *pdu$" "$tmp/out" && ok "levels listed, implicit ones marked" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence level list n2 as JSON" $D --output-as json fence level list n2
    grep -q '"implicit" : false' "$tmp/out" && ok "JSON level list" || bad "stdout: $(cat "$tmp/out")"
    expect 1 "fence device remove of a device a level uses" $D fence device remove pdu
    grep -q "used by fencing level 2 of n2" "$tmp/err" && ok "busy message names the level" ||
        bad "stderr: $(cat "$tmp/err")"
    expect 2 "fence level remove of a missing level" $D fence level remove n2 5
    expect 0 "fence level remove" $D fence level remove n2 2
    expect 0 "fence device show" $D fence device show pdu
    grep -q "^Levels: *n1 level 1 (implicit)$" "$tmp/out" && ok "show lists the levels that use it" ||
        bad "stdout: $(cat "$tmp/out")"

    expect 0 "no-quorum-policy freeze with a fence device" $D property set no-quorum-policy freeze
    expect 0 "fence device remove pdu" $D fence device remove pdu
    expect 0 "fence level remove n2 1" $D fence level remove n2 1
    expect 1 "the last fence device is kept while freeze is set" $D fence device remove sb-n2
    grep -q "no-quorum-policy is freeze" "$tmp/err" && ok "freeze keeps the last device" ||
        bad "stderr: $(cat "$tmp/err")"
    expect 0 "property unset no-quorum-policy" $D property unset no-quorum-policy

    expect 2 "node fence of this node" $D node fence n1
    grep -q "n1 is this node" "$tmp/err" && ok "local fencing refused" || bad "stderr: $(cat "$tmp/err")"
    expect 2 "confirm-down of this node" $D node confirm-down n1 --yes
    expect 6 "node fence waits, then times out" $D --timeout 3 node fence n2
    grep -q "^fencing of n2 (off) begun: operation [0-9]*, run by n1" "$tmp/out" &&
        grep -q "^n2: a fencing round failed" "$tmp/out" && grep -q "not fenced after 3 s" "$tmp/err" &&
        ok "node fence shows the operation, failed rounds and the timeout" ||
        bad "stdout: $(cat "$tmp/out"); stderr: $(cat "$tmp/err")"
    expect 1 "a second node fence while the first is in progress" $D node fence n2
    grep -q "already in progress" "$tmp/err" && ok "busy fencing refused" || bad "stderr: $(cat "$tmp/err")"
    expect 0 "status while fencing" $D status
    grep -q "^    n2 .*UNCLEAN (fencing): off by n1 (asked by the operator), [1-9][0-9]* failed round" "$tmp/out" &&
        grep -q "^Fencing: *enabled, 1 fence device$" "$tmp/out" &&
        ok "status shows the fencing" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "JSON status while fencing" $D --output-as json status
    tr -d '\n ' <"$tmp/out" | grep -q '"fence":{"state":"fencing","text":"UNCLEAN(fencing):offbyn1' &&
        tr -d '\n ' <"$tmp/out" | grep -q '"executor":"n1","failures":[1-9]' &&
        ok "JSON status carries the fence object" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence history n2" $D fence history n2
    grep -q " n2  *off  *n1  .* begun  *asked by the operator" "$tmp/out" &&
        grep -q " n2  *off  *n1  .* failed " "$tmp/out" && ok "history has the operation and its rounds" ||
        bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence history as JSON" $D --output-as json fence history
    grep -q '"result" : "begun"' "$tmp/out" && grep -q '"at_ms" : [1-9]' "$tmp/out" &&
        ok "JSON history" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "node confirm-down" $D node confirm-down n2 --yes
    grep -q "n2 confirmed down" "$tmp/out" && ok "confirm-down output" || bad "stdout: $(cat "$tmp/out")"
    grep -q "warning: Operator (pid [0-9]*, uid 0) confirms that n2 is down" "$tmp/droverd3.log" &&
        ok "confirm-down logged with pid and uid" || bad "log: $(grep -i confirm "$tmp/droverd3.log")"
    expect 2 "confirm-down of a node already down" $D node confirm-down n2 --yes
    grep -q "already down" "$tmp/err" && ok "already down message" || bad "stderr: $(cat "$tmp/err")"
    expect 0 "status after confirm-down" $D status
    grep -q "^    n2 .*confirmed down at 20[0-9-]* [0-9:.]* by the operator on n1" "$tmp/out" &&
        ok "status shows when and by whom" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence history after confirm-down" $D fence history n2
    grep -q " cancelled  *confirmed down by the operator on n1" "$tmp/out" &&
        grep -q " confirm-down .* ok  *confirmed down by the operator on n1" "$tmp/out" &&
        ok "the fencing was cancelled by confirm-down" || bad "stdout: $(cat "$tmp/out")"
    # a node known down may still be fenced (for real); --output-as json prints one object
    expect 6 "node fence as JSON times out" $D --output-as json --timeout 1 node fence n2
    tr -d '\n ' <"$tmp/out" | grep -q '"rc":-1008' && grep -q '"operation" : [1-9]' "$tmp/out" &&
        grep -q '"state" : "running"' "$tmp/out" && grep -q '"op" : "node-fence"' "$tmp/out" &&
        ok "JSON node fence: rc, operation, state" || bad "stdout: $(cat "$tmp/out")"
    expect 0 "fence device add for n1" $D fence device add sb-n1 --agent "$tmp/fence_fail" --nodes n1
    expect 0 "remove the device of n2" $D fence device remove sb-n2
    expect 5 "node fence of n2 without a device" $D node fence n2
    grep -q "no fence device can fence n2" "$tmp/err" && ok "no device message" ||
        bad "stderr: $(cat "$tmp/err")"
    if grep -q hunter2 "$tmp/droverd3.log" "$tmp/droverd.log"; then
        bad "a secret value is in droverd's log"
    else
        ok "no secret value in droverd's log"
    fi

    kill -TERM "$dpid"
    wait "$dpid"
    rc=$?
    dpid=
    [ "$rc" = 0 ] && ok "SIGTERM after the fencing commands: clean exit" || bad "SIGTERM: exit $rc"
fi

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
