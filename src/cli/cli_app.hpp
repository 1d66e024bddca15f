// cli/cli_app.hpp: the `sluice` command line — global options, the subcommand table, and
// the translation of parse failures into a usage message and exit 64.
// Owns: argument parsing (CLI11) and dispatch. Not: the subcommands (one file each,
// e.g. config_command.cpp; add a new one to kCommands in cli_app.cpp).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "base/version.hpp"

namespace sluice::cli {


// Runs `sluice` with `argv` (argv[0] is the program name). `env_config` is $SLUICE_CONFIG,
// passed in rather than read here so that tests control it. Returns the exit status.
int run_cli(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
            std::optional<std::string> env_config);

}  // namespace sluice::cli
