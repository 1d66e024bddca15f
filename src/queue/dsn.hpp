// queue/dsn.hpp: delivery status notifications — the bounce, the delay notice and the
// success report that go back to a message's envelope sender — built as a new message.
// Owns: whether a recipient's NOTIFY asks for a notice of a given action (RFC 3461 §4.1,
// §5.2.2), the report's MIME structure and header fields, the machine-readable fields, the
// human part in plain words (what happened, what the remote said, what to do), and what is
// returned of the original (RET, §4.3).
// Not: when a notice is due (queue_manager), writing it to the spool, classifying replies
// (delivery/outcome).
// RFC 3464 (message/delivery-status), RFC 6522 (multipart/report), RFC 3461 (NOTIFY, RET,
// ENVID, ORCPT), RFC 6533 (utf-8 address type and message/global-delivery-status under
// SMTPUTF8), RFC 3834 §5 (Auto-Submitted), RFC 5321 §4.5.5 and §6.1 (null reverse path: a
// notice is never sent about a notice), RFC 5322 (header fields, dates).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "smtp/envelope.hpp"

namespace sluice::queue {

// RFC 3464 §2.3.3 actions.
enum class DsnAction { failed, delayed, delivered, relayed, expanded };

const char* to_string(DsnAction action);

// Whether a recipient with `notify` wants a notice for `action`. No NOTIFY given means
// FAILURE,DELAY (RFC 3461 §4.1); NEVER means none; delivered, relayed and expanded are
// success notices (§5.2.2).
bool notify_wants(const smtp::DsnNotify& notify, DsnAction action);

struct DsnRecipient {
  size_t index = 0;  // into the original envelope's recipients
  DsnAction action = DsnAction::failed;
  // The reply that decided it, verbatim ("550 5.1.1 <bob@example.net>: User unknown"); may be
  // empty (nothing was said: a delay before any attempt).
  std::string reply;
  // RFC 3463 status. Empty: the reply's enhanced code, else one derived from its code, else
  // the action's generic one (5.0.0, 4.0.0, 2.0.0).
  std::string status;
  std::string remote_mta;   // the host that gave the reply; empty for a local decision
  std::string explanation;  // what happened, in plain words; empty: derived from the status
  SystemTime last_attempt{};                    // the epoch: unknown, field left out
  std::optional<SystemTime> will_retry_until;  // for delayed: when the queue gives up
};

struct DsnRequest {
  const smtp::Envelope* original = nullptr;
  const std::string* content = nullptr;  // the original message (header and body, CRLF)
  std::vector<DsnRecipient> recipients;
  std::string reporting_mta;  // our hostname
  std::string queue_id;       // the notice's own queue id
  SystemTime now;
};

// Returned in full (RET=FULL, or RET not given, for a failure) up to this size; a larger
// message is returned as its header only, and the notice says so.
inline constexpr size_t kMaxReturnedContent = 512 * 1024;

// The notice as a complete message (envelope from <> to the original sender, content with
// CRLF line endings), or nullopt when none may be sent: the original has the null reverse
// path, or no recipient is left once NOTIFY is honoured. Recipients whose NOTIFY does not
// ask for their action are left out. One notice covers every recipient given; its subject
// follows the gravest action among them (failed, then delayed, then the success ones).
std::optional<smtp::Message> build_dsn(const DsnRequest& request);

// "5.1.1" from "550 5.1.1 text"; "" when the reply has no enhanced code.
std::string enhanced_code_of(std::string_view reply);

}  // namespace sluice::queue
