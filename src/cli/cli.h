// The podnet command line: parses the subcommand and its flags and hands over
// to the component that implements it.
#pragma once

namespace podnet::cli {

int run(int argc, char** argv);

}  // namespace podnet::cli
