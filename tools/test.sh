#!/bin/bash
# Install dependencies, build, and run every test (unit, policy, integration on a sandbox
# cluster). Run as root on Debian 12: the integration tests create network namespaces and
# cgroups. This is what .ci/run calls.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
./autogen.sh >/dev/null
mkdir -p build
cd build
../configure -q --enable-fatal-warnings
make -j"$(nproc)" >/dev/null
# VERBOSE=1: print a failing test's log. DROVER_SANDBOX_TESTS=1: the sandbox's own self-test
# (partition, kill, freeze, cleanup after a killed run) runs too.
status=0
DROVER_SANDBOX_TESTS=1 make -j1 check VERBOSE=1 2>&1 | tee check.log || status=1
grep -q '^FAIL:\|^ERROR:' check.log && status=1
echo "tests: $(grep -c '^PASS:' check.log) passed, $(grep -c '^FAIL:\|^ERROR:' check.log) failed, $(grep -c '^SKIP:' check.log) skipped"
[ "$status" = 0 ] || exit 1
# distcheck: the tarball builds and its tests pass; the sandbox tests ran just above.
DROVER_INTEGRATION=0 make distcheck DISTCHECK_CONFIGURE_FLAGS="--enable-fatal-warnings" >/dev/null
echo "tools/test.sh: all tests passed (make check and make distcheck)"
