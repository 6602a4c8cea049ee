/* main.c — the conway command: dispatches to one subcommand per cli/ file. */
#include "cli/cli.h"

int main(int argc, char **argv) { return cw_cli_main(argc, argv); }
