// cli/test_command.hpp: `sluice test HOST[:PORT]` — one SMTP conversation with any server,
// shown in full: connect time, banner, EHLO, STARTTLS or implicit TLS with the certificate,
// AUTH, MAIL/RCPT and optionally DATA, QUIT; the transcript (credentials masked) and what the
// first failure means.
// Owns: the arguments, reading the password (from --password-file or a prompt, never from the
// command line: it would show in `ps` and shell history), the human and --json output, exit
// codes. Not: the conversation (diagnose/smtp_probe), what replies mean (diagnose/knowledge_base).
// Exit codes: 0 everything passed; 1 passed with a warning (certificate not verified); 2 the
// conversation failed; 64 usage; 66 the password file cannot be read (EX_NOINPUT).
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "cli/cli_context.hpp"
#include "diagnose/smtp_probe.hpp"

namespace sluice::cli {

void add_test_command(CLI::App& app, CliContext& context);

// "mx.example.net" -> {host, default_port}; "mx.example.net:587", "[::1]:25", "::1" (a bare
// IPv6 address). nullopt when the port is not a number in 1..65535.
std::optional<std::pair<std::string, uint16_t>> parse_host_port(const std::string& text, uint16_t default_port);

// The human rendering of a probe (what `sluice test` prints without --json).
std::string render_probe(const diagnose::ProbeReport& report, const diagnose::ProbeOptions& options);
// The --json form.
std::string probe_json(const diagnose::ProbeReport& report, const diagnose::ProbeOptions& options);

}  // namespace sluice::cli
