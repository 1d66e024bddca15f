// cli/config_command.hpp: `sluice config check [FILE]` and `sluice config default`.
// Owns: these subcommands' arguments and exit codes. Not: validation or the report text
// (config/loader, config/check), which the daemon shares.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/cli_context.hpp"

namespace sluice::cli {

void add_config_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
