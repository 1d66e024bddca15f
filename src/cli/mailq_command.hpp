// cli/mailq_command.hpp: `mailq` (the `sluice` binary called as mailq), `sendmail -bp` and
// `sluice mailq`: the queue listing in Postfix's text format, which scripts parse.
// Owns: that format (long queue ids: "%-17s%c %8ld %20.20s %s", the status character,
// the deferral reason in parentheses above the recipients it concerns, the Kbytes/Requests
// footer, "Mail queue is empty"). Not: where the data comes from (GET /api/v1/messages via
// admin_client), the Get-Message table (queue_command).
// Follows Postfix showq/postqueue -p as summarized in shared/reference/ecosystem.md §1.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

// `messages` is the API's message list (an array, or an object holding it under "messages").
// Times are printed in the local time zone unless `utc`.
std::string format_mailq(const nlohmann::json& messages, bool utc = false);

// Fetches the queue and prints it; sets context.exit_code. Used by `mailq` and `sendmail -bp`.
void run_mailq(CliContext& context);

void add_mailq_command(CLI::App& app, CliContext& context);

// Seconds since the epoch from the API's time fields: a number (seconds, or microseconds when
// larger than 1e12) or an RFC 3339 string ("2026-11-23T15:25:31Z", fractions and offsets
// allowed). -1 when absent or unreadable.
int64_t api_time(const nlohmann::json& value);

}  // namespace sluice::cli
