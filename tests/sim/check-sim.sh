#!/bin/sh
# make check for the simulator: every named scenario, then 2000 random histories.
SIM=${SIM:-./drover-sim}
rc=0
"$SIM" --scenario all || rc=1
"$SIM" --histories 2000 --seed 1 || rc=1
exit $rc
