// cli/queue_command.hpp: `sluice queue` (the Get-Queue table), `sluice queue messages
// [--queue Q] [--status S] [--from A] [--to A]` (the Get-Message table with LastError) and
// `sluice queue retry|suspend|resume Q`; `--json` prints the API's answer instead.
// Owns: these commands' options and their tables. Not: the transport and its errors
// (admin_client), the meaning of the actions (queue/, through the admin API).
// Exit codes: 0; 64 bad filter; 66 no such queue; 69 sluiced not running; 77 token refused
// or unreadable; 78 configuration unreadable.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

// The tables, from GET /api/v1/queues and GET /api/v1/messages.
std::string format_queues(const nlohmann::json& queues);
std::string format_messages(const nlohmann::json& messages);

void add_queue_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
