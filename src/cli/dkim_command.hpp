// cli/dkim_command.hpp: `sluice dkim keygen|sign|verify`, the operator's tools for DKIM.
// Owns: these subcommands' arguments, output and exit codes, where a new key is written.
// Not: keys, signing and verification themselves (auth/dkim_*), the [[dkim]] section
// (config/), signing mail in the daemon (a later step of issue 5).
//
//   sluice dkim keygen --domain D --selector S [--algorithm rsa|ed25519] [--bits N]
//                      [--key-file FILE] [--force]
//     writes a new private key (PEM, mode 0600; RSA-2048 by default) to FILE, else
//     <data_dir>/dkim/<domain>.<selector>.key, never over an existing file without --force,
//     and prints the TXT record to publish (RFC 6376 §3.6.1, split in 255-byte strings as
//     zone files need, §3.6.2.2) and the [[dkim]] section to add.
//   sluice dkim sign --domain D --selector S --key-file FILE [MESSAGE]
//     the message (file or standard input) with a DKIM-Signature on top, on standard output.
//   sluice dkim verify [--dns-server IP[:PORT]] [MESSAGE]
//     one line per signature: "dkim=pass d=example.org s=sel a=rsa-sha256"; keys are looked
//     up through --dns-server, else the configuration's [dns] servers, else the system's.
// Exit codes: 0 (verify: every signature passed, and there was one); 1 verify: a signature
// failed or none; 64 usage; 65 a key or message that cannot be used (EX_DATAERR); 66 no such
// input file (EX_NOINPUT); 73 the key file exists or cannot be written (EX_CANTCREAT);
// 75 verify: only temporary DNS errors (EX_TEMPFAIL); 78 configuration errors.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli/cli_context.hpp"

namespace sluice::cli {

void add_dkim_command(CLI::App& app, CliContext& context);

// "sel._domainkey.example.org. IN TXT ( \"v=DKIM1; k=rsa; \" \"p=...\" )": the record value
// cut into character-strings of at most 255 bytes.
std::string dkim_txt_record(const std::string& domain, const std::string& selector, const std::string& value);

}  // namespace sluice::cli
