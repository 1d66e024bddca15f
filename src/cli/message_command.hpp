// cli/message_command.hpp: `sluice message show|retry|suspend|resume|remove [--ndr]|export ID`
// — one queued message: its envelope, headers, every recipient's state, every delivery
// attempt and the transcript of the last failed one; the actions of Exchange's *-Message
// cmdlets; the content as .eml. `--json` prints the API's answer.
// Owns: these commands' options and the `show` layout. Not: transport and errors
// (admin_client), the actions themselves (queue/, through the admin API).
// Exit codes: 0; 66 no such message; 69 sluiced not running; 73 export file not writable;
// 77 token refused or unreadable; 78 configuration unreadable.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

// The human form of GET /api/v1/messages/{id}.
std::string format_message(const nlohmann::json& message);

void add_message_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
