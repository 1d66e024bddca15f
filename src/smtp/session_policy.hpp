// smtp/session_policy.hpp: the interfaces through which the SMTP server session asks for
// decisions (SessionPolicy), authenticates clients (Authenticator, SaslExchange) and reports
// what happened (SessionObserver), and what it knows about the peer (ClientInfo, TlsInfo).
// Owns: these interfaces only. Not: any decision (policy/ implements SessionPolicy: relay
// control, recipient checks, DNSBL, greylisting...), SASL mechanisms and users (auth/, behind
// the Authenticator that policy/session_authenticator adapts), the protocol log format (log/
// implements SessionObserver), the session's rules (server_session).
// RFC 5321 §3.1 (connect-time rejection with 554), §4.1.1.1-4.1.1.3 (the replies a policy may
// give to HELO/EHLO, MAIL and RCPT), §4.1.1.4 and §4.2.5 (a refusal after the end of data);
// RFC 4954 §4 (AUTH exchange: base64 challenges and responses), RFC 4422 (SASL).
//
// Waiting for a decision. Some checks cannot answer at once: a DNSBL lookup at connect,
// greylisting state in a shared store at RCPT, SPF at MAIL, DKIM/DMARC or a milter at the end
// of data. Every stage therefore has one asynchronous form, decide_*(), returning a Verdict:
// accept, reject(reply), or pending. On pending the session stops where it is (input is
// buffered, nothing is answered) and poll() returns SessionAction::wait_policy; the driver
// calls await_verdict() once and hands the final verdict to ServerSession::on_policy_result()
// on the session's own loop. One mechanism for every stage; a policy that never waits
// overrides only the synchronous check_*() (the decide_*() defaults call them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/reply.hpp"
#include "smtp/envelope.hpp"
#include "smtp/esmtp_params.hpp"

namespace sluice::smtp {

// What the driver learnt from a finished TLS handshake (OpenSSL's names).
struct TlsInfo {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  int bits = 0;         // secret bits of the cipher, 0 = unknown
};

struct ClientInfo {
  std::string ip;            // "192.0.2.1" or "2001:db8::1"
  uint16_t port = 0;
  std::string local_ip;
  uint16_t local_port = 0;
  std::string reverse_name;  // verified (forward-confirmed) reverse DNS name; empty = unknown
  // Set when the connection is TLS from the first byte (implicit TLS, RFC 8314 §3): the
  // driver did the handshake before the session was made.
  std::optional<TlsInfo> tls;
};

// The outcome of a policy decision (see the file comment).
class Verdict {
 public:
  enum class Kind { accept, reject, pending };

  static Verdict accept() { return Verdict(Kind::accept, {}); }
  static Verdict reject(Reply reply) { return Verdict(Kind::reject, std::move(reply)); }
  static Verdict pending() { return Verdict(Kind::pending, {}); }
  // A synchronous check's answer: nullopt accepts, a reply refuses.
  static Verdict from(std::optional<Reply> refusal) {
    return refusal ? reject(std::move(*refusal)) : accept();
  }

  Kind kind() const { return kind_; }
  bool accepted() const { return kind_ == Kind::accept; }
  bool rejected() const { return kind_ == Kind::reject; }
  bool is_pending() const { return kind_ == Kind::pending; }
  // The refusal; meaningful only when rejected().
  const Reply& reply() const { return reply_; }

 private:
  Verdict(Kind k, Reply r) : kind_(k), reply_(std::move(r)) {}
  Kind kind_;
  Reply reply_;
};

// What the session knows about its client when it asks for a decision.
struct SessionFacts {
  const ClientInfo& client;
  std::string_view helo;       // the HELO/EHLO name; empty before it
  std::string_view auth_user;  // the login after AUTH; empty = not authenticated
  bool secure = false;         // TLS is up
};

// Each check returns the reply that refuses, or nullopt to let the session give its own
// positive reply. A refusal is not a protocol error: it does not count toward max_errors.
// The session asks only the decide_*() forms; their defaults call the check_*() forms.
class SessionPolicy {
 public:
  virtual ~SessionPolicy() = default;
  // nullopt accepts the connection; a reply (554 5.7.1 ...) is sent instead of the greeting
  // and the session closes.
  virtual std::optional<Reply> check_connect(const ClientInfo& client) = 0;
  virtual std::optional<Reply> check_helo(std::string_view helo) = 0;
  virtual std::optional<Reply> check_mail_from(const MailFromArgs& args) = 0;
  // `envelope` is the transaction so far (sender, recipients accepted before this one).
  // nullopt → "250 2.1.5 Ok".
  virtual std::optional<Reply> check_rcpt(const RcptToArgs& args, const Envelope& envelope) = 0;
  // A fresh queue id for a message that is about to be committed.
  virtual std::string new_queue_id() = 0;

  // The asynchronous forms. A reject at connect is sent instead of the greeting and closes;
  // elsewhere it is the reply to the command. pending: see await_verdict().
  virtual Verdict decide_connect(const SessionFacts& s) { return Verdict::from(check_connect(s.client)); }
  virtual Verdict decide_helo(const SessionFacts&, std::string_view helo) {
    return Verdict::from(check_helo(helo));
  }
  virtual Verdict decide_mail_from(const SessionFacts&, const MailFromArgs& args) {
    return Verdict::from(check_mail_from(args));
  }
  virtual Verdict decide_rcpt(const SessionFacts&, const RcptToArgs& args, const Envelope& envelope) {
    return Verdict::from(check_rcpt(args, envelope));
  }
  // The end of data: the complete message (our Received field on top, envelope filled, queue
  // id minted) before it is committed. It stays in place, owned by the session, until the
  // verdict; a policy may add header fields at its top (milter, Authentication-Results).
  // A reject answers the DATA/BDAT LAST and drops the message.
  virtual Verdict decide_message(const SessionFacts&, Message& message) {
    (void)message;
    return Verdict::accept();
  }
  // After a decide_*() returned pending, the driver calls this once. `done` runs exactly
  // once, with accept or reject, on any thread, possibly inside this call; the driver moves
  // back to the session's loop. The policy must finish by itself (its lookups have their own
  // deadlines): the driver waits without a timer, and the policy outlives the wait.
  virtual void await_verdict(std::function<void(Verdict)> done) {
    done(Verdict::reject(Reply(451, "4.3.0", "Error: policy check unavailable, try again later")));
  }
};

// One step of a SASL exchange, as the session acts on it (RFC 4954 §4):
//   challenge          → "334 <data>" (data is already base64)
//   success            → "235 2.7.0 Authentication successful"; `username` is the login
//   failure            → `reply` if set (501 5.5.2 for bad base64), else "535 5.7.8
//                        Authentication credentials invalid", which counts as a logon failure;
//                        `data` says why, for the protocol log, never a credential
//   need_verification  → the driver checks `username`/`password` off the event loop
//                        (Authenticator::verify_password) and the session calls finish()
enum class SaslStepKind { challenge, success, failure, need_verification };

struct SaslStep {
  SaslStepKind kind = SaslStepKind::failure;
  std::string data;
  std::string username;
  std::string password;
  std::optional<Reply> reply;
};

// One AUTH exchange with one mechanism; the session feeds it the client's lines as received
// (base64, "=" for an empty initial response, RFC 4954 §4), never "*" (the session cancels).
class SaslExchange {
 public:
  virtual ~SaslExchange() = default;
  // `initial_response` absent when AUTH carried none.
  virtual SaslStep start(std::optional<std::string_view> initial_response) = 0;
  virtual SaslStep step(std::string_view response) = 0;
  virtual SaslStep finish(bool verified) = 0;
};

// The users and their logon failures, as one receive connector sees them. One object serves
// every session of the connector on every event loop: implementations are thread-safe.
class Authenticator {
 public:
  virtual ~Authenticator() = default;
  // What EHLO's AUTH keyword lists, e.g. {"SCRAM-SHA-256", "PLAIN", "LOGIN"}; empty = no AUTH.
  virtual std::vector<std::string> mechanisms() const = 0;
  // nullptr when `mechanism` is not offered (504 5.5.4). Case-insensitive.
  virtual std::unique_ptr<SaslExchange> begin(std::string_view mechanism) = 0;
  // SLOW (Argon2id): the driver calls it on a blocking pool, never on an event loop.
  virtual bool verify_password(std::string_view username, std::string_view password) const = 0;
  // The logon failure limit of client addresses (a tarpit once exceeded).
  virtual bool blocked(std::string_view client_ip) = 0;
  // A failed logon; true when this failure blocks the address.
  virtual bool failure(std::string_view client_ip) = 0;
  virtual void success(std::string_view client_ip) = 0;
  // Whether `login` may use `address` as MAIL FROM (sender_login_match).
  virtual bool may_send_as(std::string_view login, std::string_view address) const = 0;
};

// Feeds the protocol log: one call per event, never message content.
class SessionObserver {
 public:
  virtual ~SessionObserver() = default;
  // A command line as received, without CRLF; AUTH credentials are masked.
  virtual void on_command(std::string_view line) = 0;
  virtual void on_reply(const Reply& reply) = 0;
  // Information events: ("queued as X", "message accepted"), ("data", "session state")...
  virtual void on_info(std::string_view data, std::string_view context) = 0;
};

}  // namespace sluice::smtp
