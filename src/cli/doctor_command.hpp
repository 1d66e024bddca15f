// cli/doctor_command.hpp: `sluice doctor DOMAIN` (outside-in checks of a domain's mail setup)
// and `sluice doctor --ip ADDR` (the address on DNS blocklists).
// Owns: the arguments, choosing the DNS servers (--dns-server, else the configuration's [dns]
// servers when the configuration loads, else the system resolver) and the blocklist zones
// (--zone, else the configuration's [[dnsbl]] zone entries, read straight from the TOML so the
// command works before the daemon's config struct knows them), the text and --json output.
// Not: the checks (diagnose/doctor). The inside-out `sluice doctor` without argument (against
// the running daemon) is not written yet: it says so and exits 64.
// Exit codes: 0 all pass, 1 warnings, 2 failures, 64 usage.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/cli_context.hpp"
#include "diagnose/doctor.hpp"

namespace sluice::cli {

void add_doctor_command(CLI::App& app, CliContext& context);

std::string doctor_json(const diagnose::DoctorReport& report);

}  // namespace sluice::cli
