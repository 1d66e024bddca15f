// log/tracking_log.hpp: the message tracking log — what happened to each message, one event
// per recipient (RECEIVE, DEFER, SEND, DELIVER, FAIL, DSN, EXPIRE, ...), so an admin can
// follow a message from acceptance to delivery or bounce, as with Exchange's
// Get-MessageTrackingLog.
// Owns: the record format below. Not: deciding events (queue, delivery, sessions raise
// them once each), files and rotation (log_file.hpp), searching (a later issue).
//
// Files: `MSGTRK<yyyymmdd>-<n>.LOG` in the folder given (the daemon gives
// `<data_dir>/logs/tracking/`), rotated and kept like the protocol log. JSON Lines: one JSON
// object per line, "\n"-terminated, no header block (it would break JSON Lines readers).
// Every record has every key, in this order, with Exchange's field names:
//   date-time                  string, UTC "yyyy-mm-ddThh:mm:ss.fffZ", from the Clock
//   client-ip                  string, the SMTP client's address
//   client-hostname            string, the client's HELO/EHLO name
//   server-ip                  string
//   server-hostname            string, this server's name (given to the constructor)
//   source-context             string, free text (e.g. the Maildir file name)
//   connector-id               string, the receive or send connector's name
//   source                     string: SMTP, STOREDRIVER, QUEUE, ROUTING, DNS, DSN, ADMIN
//   event-id                   string: RECEIVE, DELIVER, DEFER, FAIL, SEND, DSN, EXPIRE, ...
//   internal-message-id        string, our queue id
//   message-id                 string, the Message-ID header
//   recipient-address          string, one recipient per record
//   recipient-status           string, the SMTP reply, e.g. "250 2.0.0 Ok"
//   total-bytes                number
//   recipient-count            number
//   related-recipient-address  string, the original address before alias expansion
//   sender-address             string, the envelope sender
//   return-path                string, "<>" for the null sender
//   tls-version                string, the TLS version of the connection the event is about
//                              ("TLSv1.3"); "" for plaintext (sluice's own addition)
//   tls-cipher                 string, its cipher ("TLS_AES_256_GCM_SHA384")
//   tls-verified               string, outbound only: "verified" (chain and name checked),
//                              "unverified: <why>" ("unverified: certificate verify
//                              failed: self-signed certificate"); "" without TLS
//   auth-user                  string, the authenticated submitter (SMTP AUTH), "" if none
//   schema-version             number, 1; a change of meaning or type of a key bumps it
//                              (new keys do not: readers ignore keys they do not know)
// Empty strings stand for "not known / not applicable". Strings that are not valid UTF-8 are
// written with U+FFFD for the bad bytes (peers send anything; the log must stay valid JSON).
// The message subject is never logged (privacy).
//
// Threading and flushing: as the protocol log (see RotatingLogFile).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/clock.hpp"
#include "log/log_file.hpp"

namespace sluice::log {

struct TrackingEvent {
  std::string event_id, source, queue_id, message_id, sender, recipient, recipient_status,
      client_ip, client_hostname, server_ip, connector, related_recipient, source_context,
      return_path, tls_version, tls_cipher, tls_verified, auth_user;
  uint64_t total_bytes = 0;
  uint32_t recipient_count = 0;
};

class TrackingLog {
 public:
  static constexpr int kSchemaVersion = 1;
  static constexpr std::string_view kFilePrefix = "MSGTRK";

  // Creates `dir`. I/O errors are counted and reported once on stderr, never thrown.
  TrackingLog(std::filesystem::path dir, std::string server_hostname, const Clock& clock,
              LogRetention retention = {});

  void write(const TrackingEvent& event);
  void flush() { file_.flush(); }
  void tick() { file_.tick(); }

  uint64_t error_count() const { return file_.error_count(); }
  std::filesystem::path current_path() const { return file_.current_path(); }

  // One record with its trailing "\n", as write() would append it at `at`.
  std::string format(SystemTime at, const TrackingEvent& event) const;

 private:
  const Clock& clock_;
  const std::string server_hostname_;
  RotatingLogFile file_;
};

}  // namespace sluice::log
