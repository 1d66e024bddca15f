// cli/config_show_command.hpp: `sluice config show [FILE]` — the effective configuration:
// every key of the sections the daemon reads with the value it will use, defaults included,
// as TOML that `sluice config check` accepts again. Passwords never appear (users show their
// address only; send connectors name their password file, never its contents).
// Owns: the TOML rendering of config::Config. Not: loading or validation (config/loader),
// the `config check|default` subcommands (config_command.cpp, which this extends: it adds
// `show` to the `config` command, so it registers after add_config_command in kCommands).
// Sections rendered: [server], [[accepted_domain]], [local_delivery], [[user]],
// [[receive_connector]], [dns], [queue], [[send_connector]], [admin]. The protection, DKIM
// and DNSBL sections are listed as written in the file's own section (not yet rendered).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/cli_context.hpp"
#include "config/config.hpp"

namespace sluice::cli {

std::string render_effective_config(const config::Config& config);

void add_config_show_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
