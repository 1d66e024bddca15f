// queue/maildrop.hpp: the maildrop directory — where `sendmail` leaves a message when sluiced
// cannot take it over SMTP (daemon stopped, connector refusing), and where sluiced picks it
// up on start, so that cron mail is never lost (Postfix's maildrop queue plays this role).
// Owns: the file format (one file per message: a versioned envelope, then the content), the
// atomic write (temporary name, fsync, rename, fsync of the directory), the scan that parses
// each file, hands the message to a callback and removes the file only after the callback
// stored it, and moving unreadable files aside. Not: storing the message (the callback, which
// the daemon wires to the spool), the command line (cli/sendmail_command).
//
// File format, version 1 (text lines ending in LF, then the raw content):
//   sluice-maildrop 1
//   sender <address>            (empty after the space for the null sender)
//   recipient <address> [notify=<never|success,failure,delay>]
//   ret full|headers            (optional)
//   envid <xtext-decoded text>  (optional)
//   submitter <uid> <user name>
//   time <unix microseconds>
//   content <bytes>
//   <exactly <bytes> bytes of content, CRLF line endings, not dot-stuffed>
// An unknown version or a truncated file is moved to <dir>/corrupt/, never fatal.
// RFC 5321 §4.4 (the Received field added on pick-up), RFC 3461 §4 (NOTIFY, RET, ENVID).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/queue_id.hpp"
#include "base/result.hpp"
#include "smtp/envelope.hpp"

namespace sluice::queue {

inline constexpr std::string_view kMaildropSuffix = ".msg";

// What a maildrop file holds, before the daemon gives it a queue id.
struct MaildropEntry {
  smtp::Envelope envelope;     // mail_from, recipients (with NOTIFY), ret, envid, smtputf8
  std::string content;         // CRLF line endings, not dot-stuffed
  uint32_t submitter_uid = 0;  // who ran sendmail (for the Received field)
  std::string submitter_name;
  int64_t submitted_at_us = 0;
};

// The file's bytes for `entry` (exposed for tests and tools).
std::string encode_maildrop(const MaildropEntry& entry);
// Parses a file's bytes. ErrorClass::permanent with the reason for anything malformed.
Result<MaildropEntry> decode_maildrop(std::string_view bytes);

// Writes `entry` into `dir` (created 0700 if missing) atomically: a reader sees the whole
// file or none. Returns the file's path. ErrorClass::io with the path and errno text.
Result<std::string> write_maildrop(const std::string& dir, const MaildropEntry& entry);

struct PickupReport {
  unsigned submitted = 0;  // handed over and removed
  unsigned moved_aside = 0;  // unreadable, now in <dir>/corrupt/
  std::vector<std::string> problems;  // one line per file that was not submitted, for the log
};

// Hands the finished message to the spool; success means it is durably stored, so the file
// can go. A failure leaves the file for the next pick-up and stops this one (the spool is
// probably full or broken: trying the rest would fail the same way).
using MaildropSubmit = std::function<Result<void>(smtp::Message&&)>;

struct PickupOptions {
  std::string hostname;  // ours, for the Received field
  std::string connector = "maildrop";  // Envelope::connector of picked-up messages
};

// Picks up every "*.msg" file of `dir` in name order (names sort by submission time): assigns
// a queue id, prepends a Received field, fills the envelope's origin (connector, client_ip
// 127.0.0.1, protocol "local", received_at_us = now) and calls `submit`. A missing directory
// is an empty maildrop.
PickupReport pick_up_maildrop(const std::string& dir, const PickupOptions& options, QueueIdGenerator& ids,
                              const Clock& clock, const MaildropSubmit& submit);

}  // namespace sluice::queue
