#!/bin/bash
# Does the simulator catch each sequence the HA-core review found? Revert each fix in a copy
# of the sources (one small, named source mutation at a time), build drover-sim from the
# copy, and run the named scenarios and random histories against it. A fix whose reversion
# the simulator does not notice would be a fix without a test.
#
#   tests/sim/mutations.sh [BUILDDIR] [HISTORIES]     (make -C tests/sim mutations)
#
# Prints one line per mutation: the scenarios that failed and how many histories failed.
# Exits non-zero when some mutation went unnoticed.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
hist=${2:-2000}
work=$(mktemp -d /tmp/drover-mutations.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

flags="$(pkg-config --cflags glib-2.0 json-glib-1.0 libqb) -I$build -I$src/include"
libs="$(pkg-config --libs glib-2.0 json-glib-1.0 libqb)"

# name | files (comma-separated) | python expression applied to each file's text (s); it must
# change every file named
mutations=(
"conditional-assign|cluster/cluster.c|s.replace('if (m->cmd_gen != r->ver || r->mig_to != NULL) {', 'if (r->mig_to != NULL) {')"
"migration-records|ha/decide.c,cluster/cluster.c|s.replace('if (m->cmd_gen != r->ver || r->mig_to != NULL) {', 'if (m->cmd_gen != r->ver) {').replace('if (ex[v].kind == V_MIGRATING) {\n            continue;', 'if (0) {\n            continue;').replace('    if (r->mig_to != NULL) {\n        if (!member(nodes, n, r->mig_from)) {', '    if (0) {\n        if (!member(nodes, n, r->mig_from)) {')"
"rollback-kept|ha/decide.c|s.replace('c->flag = !here;', 'c->flag = true;')"
"probes|ha/decide.c|s.replace('static const char *unprobed(const drv_resource_t *r, const drv_ha_node_t *nodes, size_t n)\n{', 'static const char *unprobed(const drv_resource_t *r, const drv_ha_node_t *nodes, size_t n)\n{\n    return NULL;')"
"gone-nodes-pinned|ha/decide.c|s.replace('static const char *gone_holder(const drv_resource_t *r, const drv_ha_node_t *nodes, size_t n)\n{\n    GHashTableIter it;\n    gpointer k, v;\n', 'static const char *gone_holder(const drv_resource_t *r, const drv_ha_node_t *nodes, size_t n)\n{\n    GHashTableIter it;\n    gpointer k, v;\n\n    if (r) {\n        return NULL;\n    }\n')"
"move-never-stops|ha/decide.c|s.replace('e->pin_dropped = true;\n            vm->pin_node = -1;', 'e->pin_dropped = false;').replace('&& (ex[v].pin_dropped || target < 0)) {', '&& ex[v].pin_dropped) {')"
"migration-job-busy|ha/runtime.c|s.replace('|| (rt->ops->migrating && rt->ops->migrating(rt->ud, uuid))', '|| 0')"
"quorum-confirmed-start|ha/decide.c|s.replace('&& r->changed_seq <= p->confirmed_seq) {', ') {').replace('if (r->changed_seq <= p->confirmed_seq) {', 'if (1) {')"
"expire-no-recount|ha/decide.c,cluster/cluster.c|s.replace('here ? DRV_OBS_RUNNING : DRV_OBS_STOPPED, mine->gen', 'rep, mine->gen').replace('DRV_OBS_FAILED && !m->cmd_flag', 'DRV_OBS_FAILED')"
"state-cap|cluster/cluster.c|s.replace('&& !fits(c, growth_bound(m))', '&& 0 && !fits(c, growth_bound(m))').replace('drv_wire_resource_size(m->cmd_res) + DRV_RES_HEADROOM', 'drv_wire_resource_size(m->cmd_res)')"
"reporter-clock|ha/decide.c|s.replace('    return n ? n->failures : 0;\n}', '    if (n && p->now_ms > n->window_start && p->now_ms - n->window_start > p->failure_window_ms) {\n        return 0;\n    }\n    return n ? n->failures : 0;\n}')"
)

status=0
for m in "${mutations[@]}"; do
    name=${m%%|*}
    [ -z "${ONLY:-}" ] || [ "$name" = "$ONLY" ] || continue
    rest=${m#*|}
    file=${rest%%|*}
    expr=${rest#*|}
    rm -rf "$work/src"
    mkdir -p "$work/src"
    cp -r "$src/cluster" "$src/common" "$src/policy" "$src/ha" "$work/src/"
    mkdir -p "$work/src/tests"
    cp -r "$src/tests/sim" "$work/src/tests/"
    python3 - "$work/src" "$file" "$expr" <<'EOF'
import sys
root, files, expr = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
changed = 0
for f in files:
    path = root + "/" + f
    s = open(path).read()
    t = eval(expr)
    if t != s:
        open(path, "w").write(t)
        changed += 1
if changed != len(files):
    sys.exit("mutation did not apply to every file of " + sys.argv[2])
EOF
    s="$work/src"
    # shellcheck disable=SC2086
    gcc -O1 -w -o "$work/drover-sim" $flags -I"$s/cluster" -I"$s/ha" -I"$s/policy" \
        "$s"/common/*.c "$s"/cluster/*.c "$s"/policy/*.c "$s"/ha/*.c "$s"/tests/sim/*.c $libs
    failed=""
    for sc in $("$work/drover-sim" --list); do
        out=$("$work/drover-sim" --scenario "$sc" 2>&1) && rc=0 || rc=$?
        if [ "$rc" = 1 ]; then
            failed="$failed$sc "
        elif [ "$rc" != 0 ]; then
            failed="$failed$sc(crashed:$rc) "
        fi
    done
    hl=$("$work/drover-sim" --histories "$hist" --seed 1 2>&1 | grep '^sim:' || true)
    echo "mutation $name: scenarios failed: ${failed:-none}; histories: ${hl#sim: }"
    if [ -z "$failed" ] && echo "$hl" | grep -q ' 0 failed'; then
        echo "  NOT CAUGHT" >&2
        status=1
    fi
done
exit $status
