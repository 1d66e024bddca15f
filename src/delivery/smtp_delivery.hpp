// delivery/smtp_delivery.hpp: the outbound SMTP transport — delivers a batch of messages for
// ONE next hop over as few connections as it can, walking the next hop's target list.
// Owns: the order of connection attempts (next target after a connection failure, a 4xx or
// 5xx greeting, a refused EHLO, a failed TLS handshake or AUTH; at most
// max_hosts_per_attempt hosts), reuse of one connection for several messages (up to
// max_messages_per_connection), opportunistic STARTTLS with a plaintext retry of the same
// host when the handshake fails (as Postfix does at security level "may"), the connector's
// TLS policy (`required`: no plaintext ever; `verify`: also a trusted chain — system CAs or
// ca_file — and the target's name, smart host or MX host, in the certificate; failures
// worded as the queue's LastError shows them, e.g. "TLS required but mx.example.net did not
// offer STARTTLS", "certificate verify failed: self-signed certificate"), AUTH with the
// connector's password_file, the SEND protocol log of every connection, per-phase deadlines.
// Not: the SMTP dialog itself (smtp::ClientSession), what a reply means for the mail
// (delivery/outcome: classify_*), which targets exist (routing/), retries, queues, spool
// updates and tracking (queue/), concurrency and rate limits per next hop (queue/).
// RFC 5321 §5.1 (try the next address after a failure), §4.5.3.2 (timeouts), §3.8 (421),
// RFC 3207 (STARTTLS), RFC 7435 (opportunistic security), RFC 4954 (AUTH), RFC 7817 §3 and
// RFC 6125 §6 (which name a certificate must carry).
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "delivery/outcome.hpp"
#include "log/protocol_log.hpp"
#include "log/session_id.hpp"
#include "routing/target.hpp"
#include "smtp/envelope.hpp"

namespace asio::ssl {
class context;
}

namespace sluice::delivery {

// RFC 5321 §4.5.3.2 minimums by default; tests shorten them.
struct SmtpTimeouts {
  std::chrono::seconds greeting{300};      // the 220
  std::chrono::seconds command{300};       // EHLO, MAIL, RCPT, RSET, QUIT... replies
  std::chrono::seconds data_init{120};     // the 354
  std::chrono::seconds data_block{180};    // each write of content (and of any command)
  std::chrono::seconds data_end{600};      // the reply to the final "."
  std::chrono::seconds tls_handshake{60};  // not in RFC 5321; Postfix's smtp_starttls_timeout is 300s
};

// What deliver_batch borrows. One per event loop; everything here must outlive the batches.
struct SmtpDeliveryContext {
  asio::any_io_executor executor;
  log::ProtocolLog& protocol_log;      // the SEND log (ProtocolLogKind::send)
  log::SessionIdGenerator& session_ids;
  std::string hostname;                // EHLO name when the connector has no helo_name
  asio::ssl::context& tls;             // from make_client_tls_context()
  SmtpTimeouts timeouts;
};

struct DeliveryJob {
  const smtp::Envelope* envelope = nullptr;  // must outlive the batch
  const std::string* content = nullptr;      // as spooled: CRLF, not dot-stuffed
  std::vector<size_t> recipients;            // indexes into envelope->recipients
};

// `outcome.reply.positive()`: delivered (the peer's 250 to the end of DATA).
struct RecipientOutcome {
  size_t index = 0;  // into the job's envelope->recipients
  Outcome outcome;
};

// One connection attempt, or the one that carried the messages: for the queue's LastError,
// tracking (remote host and IP, TLS, latency) and the DSN's Remote-MTA.
struct AttemptReport {
  std::string remote_host, remote_ip;
  uint16_t port = 0;
  std::string tls;  // "TLSv1.3 TLS_AES_256_GCM_SHA384", "" for plaintext or no connection
  // The same, apart, for the tracking log's tls-version, tls-cipher and tls-verified
  // ("verified" or "unverified: <what failed>", see TlsSessionInfo); "" without TLS.
  std::string tls_version, tls_cipher, tls_verified;
  std::chrono::milliseconds latency{0};  // connect to the last reply of the connection
  // Set when no message of the batch could be tried on any target: the queue's LastError
  // and the reason the queue goes to Retry. Every recipient then carries this outcome too.
  std::optional<Outcome> session_failure;
  unsigned messages = 0;  // messages handed to the peer on this connection
};

struct BatchResult {
  // The connection that carried the last message (or, if none did, the last one tried).
  AttemptReport attempt;
  // Every connection attempt in order, with its failure when it failed: the "why" behind a
  // Retry ("connect to mx1[192.0.2.1]:25: Connection refused; mx2...: 421 ...").
  std::vector<AttemptReport> connections;
  // per_job[j] has one entry per jobs[j].recipients, in that order.
  std::vector<std::vector<RecipientOutcome>> per_job;
};

// Never throws for network or peer trouble; every recipient of every job gets an outcome.
asio::awaitable<BatchResult> deliver_batch(SmtpDeliveryContext& ctx, const routing::TargetList& targets,
                                           const config::SendConnector& connector,
                                           std::vector<DeliveryJob> jobs);

}  // namespace sluice::delivery
