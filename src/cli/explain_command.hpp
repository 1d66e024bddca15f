// cli/explain_command.hpp: `sluice explain [--json] REPLY...` — what an SMTP reply or a
// delivery error means, its likely causes, what to do and whether retrying helps.
// Owns: the subcommand's arguments, reading the reply from the arguments or standard input
// (a multi-line reply pasted as it was received), the JSON form, exit codes.
// Not: the knowledge or its rendering (diagnose/knowledge_base).
// Exit codes (sysexits): 0 explained (also when the knowledge base does not know the reply:
// the output says so); 64 usage; 66 nothing to explain on standard input (EX_NOINPUT).
#pragma once

#include <CLI/CLI.hpp>
#include <istream>

#include "cli/cli_context.hpp"

namespace sluice::cli {

// The subcommand as `sluice` registers it (kCommands): reads standard input when no reply is
// given on the command line, or when it is "-".
void add_explain_command(CLI::App& app, CliContext& context);
// The same reading `in` instead of standard input (tests).
void add_explain_command(CLI::App& app, CliContext& context, std::istream& in);

inline constexpr int kExitNoInput = 66;  // EX_NOINPUT

}  // namespace sluice::cli
