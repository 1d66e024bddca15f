// cli/sendmail_command.hpp: the sendmail-compatible entry point — `sendmail` (the `sluice`
// binary called by that name, as PHP mail(), cron, git and Django call it) and
// `sluice sendmail ARGS`.
// Owns: sendmail's flags (-t -i/-oi -f/-r -F -bm -bs -bp -bi -q[I id|R site] -N -R -V -B -C,
// the ignored ones), reading the message (a lone "." ends it unless -i), -t recipients from
// To/Cc/Bcc and the removal of Bcc, From/Date/Message-ID added when missing, the choice
// between SMTP to the local connector and the maildrop, and the sysexits codes.
// Not: the SMTP dialog (local_submission), the maildrop format (queue/maildrop), the queue
// listing (mailq_command).
// Follows shared/reference/ecosystem.md §1 (Postfix sendmail(1), sysexits(3)), RFC 5322
// §3.6.2/§3.6.3 (originator and destination fields), §3.6.4 (Message-ID), RFC 3461 §4.
//
// Exit codes: 0 queued (by sluiced, or in the maildrop for sluiced's next start); 64 bad
// flags; 65 no recipients or unusable input; 67 every recipient refused; 69 refused by
// sluiced for another reason; 75 neither sluiced nor the maildrop took it; 78 bad config.
#pragma once

#include <CLI/CLI.hpp>
#include <istream>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "cli/cli_context.hpp"
#include "smtp/envelope.hpp"

namespace sluice::cli {

enum class SendmailMode { deliver, smtp_stdio, print_queue, flush_queue, rebuild_aliases };

struct SendmailArgs {
  SendmailMode mode = SendmailMode::deliver;
  bool recipients_from_headers = false;  // -t
  bool ignore_dots = false;              // -i, -oi
  std::string sender;                    // -f / -r; empty = the login name @ hostname
  bool sender_given = false;             // -f "" or -f "<>" means the null sender
  std::string full_name;                 // -F
  smtp::DsnNotify notify;                // -N
  smtp::DsnRet ret = smtp::DsnRet::unspecified;  // -R
  std::string envid;                     // -V
  std::string flush_id;                  // -qI<id>
  std::string flush_site;                // -qR<site>
  std::string config_file;               // -C
  std::vector<std::string> recipients;
};

// Parses sendmail's arguments (without argv[0]). ErrorClass::permanent with the reason for
// an unknown flag or a missing value (exit 64).
Result<SendmailArgs> parse_sendmail_args(const std::vector<std::string>& args);

struct PreparedMessage {
  smtp::Envelope envelope;
  std::string content;  // CRLF line endings, not dot-stuffed, Bcc removed
};

struct SubmitterInfo {
  std::string login;     // user name, for the default sender
  std::string hostname;  // for the default sender and Message-ID
  uint32_t uid = 0;
};

// Builds the envelope and the content from the input: recipients from the arguments plus,
// with -t, from To/Cc/Bcc (Postfix adds both); Bcc removed; From (with -F), Date and
// Message-ID added when missing. ErrorClass::permanent (exit 65) when there is no recipient.
Result<PreparedMessage> prepare_message(const SendmailArgs& args, std::string_view input, const SubmitterInfo& who,
                                        SystemTime now);

// The addresses of an address-list header value ("A <a@x>, b@y, Group: c@z;").
std::vector<std::string> parse_address_list(std::string_view value);

// The whole program: `args` without argv[0]. `in` is the message (or the -bs dialog).
// `config_path` is -C, else --config/$SLUICE_CONFIG, else the default.
int run_sendmail(const std::vector<std::string>& args, std::istream& in, CliContext& context);

// `sluice sendmail ARGS...` (the rest of the command line is sendmail's, unparsed by CLI11).
void add_sendmail_command(CLI::App& app, CliContext& context);

inline constexpr int kExitNoUserCode = 67;  // EX_NOUSER

}  // namespace sluice::cli
