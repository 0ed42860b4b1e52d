#!/bin/sh
# Golden scenarios of the policy engine, in the style of Pacemaker's cts/scheduler:
# scenarios/NAME.layout.json is the input, scenarios/NAME.args the extra arguments of
# `drover simulate` (scenario, --explain VM, output format), scenarios/NAME.expected the
# reviewed output (stdout, then stderr and exit status). DROVER_REGENERATE=1 rewrites the
# expected files instead of comparing (review the diff before committing!).
srcdir=${srcdir:-$(dirname "$0")}
sim=${DROVER_SIMULATE:?DROVER_SIMULATE must point to drover-simulate}
dir="$srcdir/scenarios"
[ -x "$sim" ] || { echo "run-golden: $sim not built" >&2; exit 99; }
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0; regen=0
for layout in "$dir"/*.layout.json; do
    name=$(basename "$layout" .layout.json)
    args=""
    [ -f "$dir/$name.args" ] && args=$(cat "$dir/$name.args")
    # shellcheck disable=SC2086
    (cd "$dir" && timeout 60 "$sim" --layout "$name.layout.json" $args \
        >"$tmp/out" 2>"$tmp/err"; echo "--- exit $?" >"$tmp/rc")
    { cat "$tmp/out"; if [ -s "$tmp/err" ]; then echo "--- stderr"; cat "$tmp/err"; fi
      cat "$tmp/rc"; } >"$tmp/$name.actual"
    if [ -n "$DROVER_REGENERATE" ]; then
        cp "$tmp/$name.actual" "$dir/$name.expected"; regen=$((regen + 1)); continue
    fi
    if [ ! -f "$dir/$name.expected" ]; then
        echo "FAIL $name: no $name.expected (run with DROVER_REGENERATE=1 and review)"
        fail=$((fail + 1)); continue
    fi
    if diff -u "$dir/$name.expected" "$tmp/$name.actual" >"$tmp/diff"; then
        echo "PASS $name"; pass=$((pass + 1))
    else
        echo "FAIL $name"; cat "$tmp/diff"; fail=$((fail + 1))
    fi
done
if [ -n "$DROVER_REGENERATE" ]; then
    echo "regenerated $regen expected files in $dir: review them"; exit 0
fi
echo "golden: $pass passed, $fail failed"
[ $((pass + fail)) -gt 0 ] || { echo "no scenarios found in $dir"; exit 99; }
[ "$fail" -eq 0 ]
