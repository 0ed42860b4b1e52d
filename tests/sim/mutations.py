#!/usr/bin/env python3
"""Does the simulator catch each fix of the HA-core review when it is reverted?

For each named mutation (one small source change that undoes one fix), copy the sources, apply
it, build drover-sim from the copy with gcc, and run every named scenario (each on its own, so
that a crash counts against that scenario) and HISTORIES random histories. A fix whose
reversion nothing notices is a fix without a test: the script says NOT CAUGHT and exits 1.
Some fixes are defence in depth (another rule already prevents the failure in every history
the simulator draws); their own unit tests are named in the note printed for them.

    tests/sim/mutations.py [BUILDDIR] [HISTORIES]       (make -C tests/sim mutations)
"""
import os
import shutil
import subprocess
import sys
import tempfile

# name, [(file, old, new), ...], note (where else the fix is tested)
MUTATIONS = [
    ("recover-only-after-fence",
     [("cluster/fence_state.c", "        f->op_at = cmd->ts;\n        f->ver++;",
       "        f->op_at = cmd->ts;\n        f->ver++;\n        f->down = true;\n"
       "        node_is_down(st, cmd->name);")], ""),
    ("watchdog-twice-timeout",
     [("ha/fence_decide.c", "x->absent_ms >= 2 * x->watchdog_ms", "x->absent_ms >= x->watchdog_ms / 2")],
     ""),
    ("watchdog-down-still-probes",
     [("ha/decide.c", "(!is_down(st, nodes[i].name) || f->down_watchdog)", "!is_down(st, nodes[i].name)")],
     ""),
    ("no-quorum-stop",
     [("ha/runtime.c", "    if (v.lost_quorum) {\n        no_quorum(rt, st);", "    if (0) {\n        no_quorum(rt, st);")],
     ""),
    ("no-new-round-after-rejoin",
     [("ha/runtime.c", "if (!nf->op_operator && find_node(nodes, k) != NULL && find_node(nodes, k)->member) {",
       "if (0) {")], ""),
    ("conditional-assign",
     [("cluster/cluster.c", "if (m->cmd_gen != r->ver || r->mig_to != NULL) {",
       "if (r->mig_to != NULL) {")],
     "tests/unit/test-cluster.c: assignments are conditional on the version"),
    ("migration-records",
     [("ha/decide.c", "if (ex[v].kind == V_MIGRATING) {\n            continue;",
       "if (0) {\n            continue;"),
      ("ha/decide.c", "if (r->mig_to != NULL) {\n            e->kind = V_MIGRATING;",
       "if (0) {\n            e->kind = V_MIGRATING;"),
      ("ha/decide.c", "    if (r->mig_to != NULL) {\n        if (unknown(st, nodes, n, r->mig_from)) {",
       "    if (0) {\n        if (unknown(st, nodes, n, r->mig_from)) {"),
      ("cluster/cluster.c", "if (m->cmd_gen != r->ver || r->mig_to != NULL) {",
       "if (m->cmd_gen != r->ver) {")],
     "tests/unit/test-ha-decide.c: live migration; seq 2"),
    ("rollback-kept",
     [("ha/decide.c", "c->flag = !here;", "c->flag = true;")], ""),
    ("probes",
     [("ha/decide.c",
       "                            const drv_ha_node_t *nodes, size_t n)\n{\n    for (",
       "                            const drv_ha_node_t *nodes, size_t n)\n{\n"
       "    if (r) {\n        return NULL;\n    }\n    for (")], ""),
    ("gone-nodes-pinned",
     [("ha/decide.c",
       "                               const drv_ha_node_t *nodes, size_t n)\n"
       "{\n    GHashTableIter it;\n    gpointer k, v;\n",
       "                               const drv_ha_node_t *nodes, size_t n)\n"
       "{\n    GHashTableIter it;\n    gpointer k, v;\n\n    if (r) {\n        return NULL;\n    }\n")],
     ""),
    ("move-never-stops",
     [("ha/decide.c", "e->pin_dropped = true;\n            vm->pin_node = -1;",
       "e->pin_dropped = false;"),
      ("ha/decide.c", "(ex[v].pin_dropped || target < 0)) {", "ex[v].pin_dropped) {")], ""),
    ("migration-job-busy",
     [("ha/runtime.c", "|| (rt->ops->migrating && rt->ops->migrating(rt->ud, uuid))", "|| 0")],
     "tests/unit/test-virt.c: the driver refuses to stop a migrating domain"),
    ("quorum-confirmed-start",
     [("ha/decide.c", "&&\n                r->changed_seq <= p->confirmed_seq) {", ") {"),
      ("ha/decide.c", "if (r->changed_seq <= p->confirmed_seq) {", "if (1) {")], ""),
    ("expire-no-recount",
     [("ha/decide.c", "here ? DRV_OBS_RUNNING : DRV_OBS_STOPPED, mine->gen", "rep, mine->gen"),
      ("cluster/cluster.c", "DRV_OBS_FAILED && !m->cmd_flag", "DRV_OBS_FAILED")], ""),
    ("state-cap",
     [("cluster/cluster.c", "&& !fits(c, growth_bound(m))", "&& 0 && !fits(c, growth_bound(m))"),
      ("cluster/cluster.c", "drv_wire_resource_size(m->cmd_res) + DRV_RES_HEADROOM",
       "drv_wire_resource_size(m->cmd_res)")], ""),
    ("reporter-clock",
     [("ha/decide.c", "    return n ? n->failures : 0;\n}",
       "    if (n && p->now_ms > n->window_start &&\n"
       "        p->now_ms - n->window_start > p->failure_window_ms) {\n"
       "        return 0;\n    }\n    return n ? n->failures : 0;\n}")], ""),
]


def pkg(flag, *mods):
    return subprocess.check_output(["pkg-config", flag, *mods], text=True).split()


def main():
    src = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(src, "build"))
    histories = sys.argv[2] if len(sys.argv) > 2 else "2000"
    only = os.environ.get("ONLY")
    mods = ("glib-2.0", "json-glib-1.0", "libqb")
    cflags = pkg("--cflags", *mods) + ["-I" + build, "-I" + os.path.join(src, "include")]
    libs = pkg("--libs", *mods)
    status = 0
    with tempfile.TemporaryDirectory(prefix="drover-mutations.") as work:
        for name, edits, note in MUTATIONS:
            if only and name != only:
                continue
            tree = os.path.join(work, "src")
            shutil.rmtree(tree, ignore_errors=True)
            for d in ("cluster", "common", "fencing", "policy", "ha", "tests/sim"):
                shutil.copytree(os.path.join(src, d), os.path.join(tree, d))
            for f, old, new in edits:
                path = os.path.join(tree, f)
                text = open(path).read()
                if old not in text:
                    sys.exit("mutation %s does not apply to %s: %r" % (name, f, old))
                open(path, "w").write(text.replace(old, new))
            exe = os.path.join(work, "drover-sim")
            sources = []
            for d in ("common", "fencing", "cluster", "policy", "ha", "tests/sim"):
                sources += sorted(os.path.join(tree, d, x) for x in os.listdir(os.path.join(tree, d))
                                  if x.endswith(".c"))
            subprocess.check_call(["gcc", "-O1", "-w", "-o", exe] + cflags
                                  + ["-I" + os.path.join(tree, d) for d in ("cluster", "fencing", "ha", "policy")]
                                  + sources + libs)
            failed = []
            for sc in subprocess.check_output([exe, "--list"], text=True).split():
                rc = subprocess.run([exe, "--scenario", sc], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL).returncode
                if rc == 1:
                    failed.append(sc)
                elif rc != 0:
                    failed.append("%s(crashed:%d)" % (sc, rc))
            out = subprocess.run([exe, "--histories", histories, "--seed", "1"], text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout
            hist = next((line[5:] for line in out.splitlines() if line.startswith("sim: ")), "?")
            caught = failed or " 0 failed" not in hist
            print("mutation %s: scenarios failed: %s; histories: %s%s" % (
                name, " ".join(failed) or "none", hist,
                "" if caught else "  NOT CAUGHT by the simulator" + (" (tested by %s)" % note if note else "")),
                flush=True)
            if not caught and not note:
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
