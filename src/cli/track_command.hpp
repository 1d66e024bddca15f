// cli/track_command.hpp: `sluice track [--sender A] [--recipient A] [--message-id ID]
// [--queue-id ID] [--event E] [--since T] [--until T] [--limit N] [--json]` — message
// tracking search (Exchange's Get-MessageTrackingLog) over the daemon's tracking log.
// Owns: the options and the table (time, event, queue id, sender, recipient, status).
// Not: reading the log files (admin/, GET /api/v1/track), the record fields (log/tracking_log).
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

std::string format_track(const nlohmann::json& records);

void add_track_command(CLI::App& app, CliContext& context);

}  // namespace sluice::cli
