// podnet: one binary, subcommands (server, agent, dns, ...). main only dispatches.
#include "cli/cli.h"

int main(int argc, char** argv) { return podnet::cli::run(argc, argv); }
