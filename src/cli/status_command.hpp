// cli/status_command.hpp: `sluice status` (is sluiced up, since when, what is queued) and
// `sluice reload` (apply the configuration file; an invalid one is refused with its errors
// and the old one keeps running: exit 78).
// Owns: these two commands. Not: what reload does (the daemon's callback behind the API).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

std::string format_status(const nlohmann::json& status);

void add_status_command(CLI::App& app, CliContext& context);
void add_reload_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
