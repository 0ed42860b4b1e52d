/* `drover simulate`: plan offline from a layout file (see docs/policy.md).
 * argv[0] is "simulate". Returns the process exit code: 0 ok, 2 bad arguments or invalid
 * layout, 1 any other failure. Output goes to stdout, errors to stderr. */
#ifndef DRV_CLI_SIMULATE_H
#define DRV_CLI_SIMULATE_H

int drv_cli_simulate(int argc, char **argv);

#endif
