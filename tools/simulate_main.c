/* Standalone `drover-simulate` for the policy tests: the same code as `drover simulate`. */
#include "cli_simulate.h"

int main(int argc, char **argv)
{
    return drv_cli_simulate(argc, argv);
}
