# Shared helpers for the integration tests (sourced). Every wait polls a condition with a
# deadline; nothing sleeps in place of synchronisation.

: "${DROVER_BUILDDIR:?run through make check (DROVER_BUILDDIR unset)}"
: "${DROVER_SRCDIR:?run through make check (DROVER_SRCDIR unset)}"
SB="$DROVER_SRCDIR/tests/sandbox/drover-sandbox"
DROVERD="$DROVER_BUILDDIR/agent/droverd"
DROVER="$DROVER_BUILDDIR/tools/drover"
INJECT="$DROVER_BUILDDIR/tests/integration/cpg-inject"
export DROVER_SANDBOX_DIR="${DROVER_SANDBOX_DIR:-/tmp/drover-sandbox}"

skip() {
    echo "SKIP: $*" >&2
    exit 77
}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

pass() {
    echo "ok - $*"
}

require_sandbox_prereqs() {
    [ "${DROVER_INTEGRATION:-1}" != 0 ] || skip "DROVER_INTEGRATION=0"
    [ "$(id -u)" = 0 ] || skip "needs root (network namespaces, cgroups, corosync)"
    for t in corosync corosync-quorumtool ip nft nsenter unshare python3; do
        command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
    done
    [ -x "$DROVERD" ] && [ -x "$DROVER" ] || fail "build droverd and drover first"
}

ms() {
    date +%s%3N
}

# wait_until SECONDS DESCRIPTION CMD...: poll CMD every 50 ms until it succeeds.
wait_until() {
    local secs=$1 desc=$2
    shift 2
    local deadline=$(($(ms) + secs * 1000))
    while ! "$@" >/dev/null 2>&1; do
        if [ "$(ms)" -ge "$deadline" ]; then
            fail "timed out after ${secs}s waiting for: $desc"
        fi
        sleep 0.05 # poll interval of a condition wait, not a synchronisation sleep
    done
}

# status_json NODE: drover status of NODE, as JSON, on stdout.
status_json() {
    "$SB" drover "$1" --output-as json status
}

# jq_node NODE PYEXPR: evaluate a Python expression over NODE's status (bound to d);
# exits non-zero when it is false or the status cannot be read.
jq_node() {
    local js
    js=$(status_json "$1") || return 1
    python3 -c '
import json, sys
d = json.loads(sys.argv[1])
def node(name):
    return next(n for n in d["nodes"] if n["name"] == name)
r = eval(sys.argv[2])
if isinstance(r, bool):
    sys.exit(0 if r else 1)
print(r)
' "$js" "$2"
}

# get NODE PYEXPR: print the value of an expression over NODE's status.
get() {
    jq_node "$1" "$2"
}

# cli NODE ARGS...: run the CLI in NODE, leaving its exit code in $rc and output in $out.
cli() {
    local node=$1
    shift
    set +e
    out=$("$SB" drover "$node" "$@" 2>&1)
    rc=$?
    set -e
}

# converged N: every node of n1..nN is active, quorate, with N members and one coordinator.
converged() {
    local n=${1:-3} k c first=""
    for k in $(seq 1 "$n"); do
        c=$(get "n$k" "d['coordinator']['name'] if d['phase'] == 'active' and d['quorate'] and len(d['members']) == $n else ''") || return 1
        [ -n "$c" ] || return 1
        [ -z "$first" ] && first=$c
        [ "$c" = "$first" ] || return 1
    done
}

# virsh in NODE against its own libvirtd.
vsh() {
    local node=$1
    shift
    "$SB" exec "$node" timeout 20 virsh -q -c qemu:///system "$@"
}

# where_running UUID [N]: the nodes whose libvirtd runs the domain, one per line. Fails
# (non-zero) when a node's libvirtd does not answer: an unanswered query is not "not running".
where_running() {
    local uuid=$1 n=${2:-3} k list
    for k in $(seq 1 "$n"); do
        list=$(vsh "n$k" list --uuid 2>/dev/null) || return 1
        if printf '%s\n' "$list" | grep -qx "$uuid"; then
            echo "n$k"
        fi
    done
}

# runs_once UUID [NODE]: exactly one node runs it (and it is NODE, when given).
runs_once() {
    local w
    w=$(where_running "$1") || return 1
    [ "$(printf '%s' "$w" | grep -c .)" = 1 ] || return 1
    [ -z "${2:-}" ] || [ "$w" = "$2" ]
}

runs_nowhere() {
    local w
    w=$(where_running "$1") || return 1
    [ -z "$w" ]
}

# make_domain NAME UUID FILE: a tiny diskless TCG domain (sits in firmware, ~10% of a core).
make_domain() {
    cat >"$3" <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <serial type='pty'/>
    <video><model type='none'/></video>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# qemu_pid NODE DOMAIN: the QEMU process of a running domain (libvirt's pid file).
qemu_pid() {
    "$SB" exec "$1" cat "/run/libvirt/qemu/$2.pid" 2>/dev/null
}
