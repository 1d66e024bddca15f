// smtp/server_session.hpp: the SMTP server session state machine, sans-I/O. It is fed the
// bytes a client sent and returns reply bytes plus the next action (read more, commit a
// message, close); it never touches sockets, disk or the wall clock (time comes in through
// Clock&, decisions through SessionPolicy, events go out through SessionObserver).
// Owns: command sequencing, the ESMTP extensions we offer and their limits, reply choice,
// pipelining order, DATA/BDAT framing (through MessageReader), filling the Envelope, adding
// our Received header, the STARTTLS and AUTH verbs and what they unlock (submission rules of
// client connectors: AUTH before MAIL, sender_login_match, require_tls, missing Date and
// Message-ID). Not: command and parameter grammar (command.hpp, esmtp_params.hpp,
// address.hpp), decisions (SessionPolicy), storage (the lead's committer), the TLS handshake
// (the driver: start_tls → on_tls_started), SASL mechanisms and password checks (behind
// Authenticator; the slow check runs in the driver: verify_password → on_password_verified).
// RFC 5321 §3 (procedures), §4.1 (commands), §4.2 (replies), §4.3.2 (sequencing), §4.5.2
// (transparency), §4.5.3.1 (limits), §4.5.3.2 (timeouts), §4.4 (trace), §2.3.8 (line ends);
// RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 6152 (8BITMIME), RFC 2034 and 3463 (enhanced
// status codes), RFC 3030 (CHUNKING/BDAT), RFC 6531 (SMTPUTF8), RFC 3461 (DSN), RFC 3848
// (protocol keywords: SMTP, ESMTP, UTF8SMTP; RFC 6531 §3.7.7 registers no "UTF8ESMTP",
// SMTPUTF8 always implies EHLO, so a UTF-8 transaction is "UTF8SMTP"; with TLS and AUTH:
// ESMTPS, ESMTPA, ESMTPSA and UTF8SMTPS/A/SA, RFC 6531 §3.7.7); RFC 3207 (STARTTLS), RFC 8314
// (implicit TLS), RFC 4954 (AUTH), RFC 6409 §4.3, §6.1, §8 (submission: AUTH required,
// sender checks, Date and Message-ID added).
//
// Choices where the RFCs leave room (documented so admins and tests can rely on them):
// - A message with a bare CR or bare LF in DATA is read to its real end (<CRLF>.<CRLF>) and
//   then refused with "550 5.6.0 Message rejected: bare LF or CR in the message (RFC 5321
//   section 2.3.8)": accepting and normalizing it would pass an ambiguous message to the next
//   hop, which is how SMTP smuggling works. 5.6.0 (other media error) is the registered code
//   nearest to the fault; reply text is ASCII only, hence "section" rather than the sign.
// - A too-large message is read to its end and discarded, then 552 5.3.4 (RFC 1870 §6.3).
// - Protocol errors (unknown command, syntax error, bad sequence, line too long) count;
//   policy refusals, 452 too many recipients and 554 no valid recipients do not (a pipelining
//   client sends DATA after refused recipients in good faith, RFC 2920 §3.1). When the count
//   reaches max_errors: "421 4.7.0 <host> Error: too many errors" and close.
// - A refused BDAT chunk is read exactly and discarded; after a failed chunk, further chunks
//   of the pipeline are discarded (503 5.5.1) without counting as errors (RFC 3030 §4.2),
//   until another command arrives.
// - STARTTLS: "220 2.0.0 Ready to start TLS", then every octet the client sent after the
//   STARTTLS line is DISCARDED (CVE-2011-0411: plaintext pipelined before the handshake must
//   never be read as if it came over TLS); after the handshake the session is as after the
//   greeting (RFC 3207 §4.2: HELO/EHLO, transaction and AUTH forgotten).
// - AUTH: 538 5.7.11 before TLS unless allow_plaintext_auth (RFC 4954 §4 and §6); 503 5.5.1
//   for a second AUTH or AUTH inside a transaction; "*" cancels with 501 5.0.0; wrong
//   credentials 535 5.7.8; when the Authenticator's failure limit is reached, "421 4.7.0 Too
//   many failed logons, try again later" and close, and AUTH from that address gets the same
//   421 until the tarpit has passed. Credentials never reach the observer: the AUTH line is
//   logged as "AUTH <mech> ****", SASL responses as "****" and 334 challenges as "334 ****".
// - require_tls: before TLS only EHLO, HELO, STARTTLS, NOOP, RSET and QUIT are served, the
//   rest gets "530 5.7.0 Must issue a STARTTLS command first" (not a protocol error).
// - Replies that carry no enhanced code: the greeting, the EHLO/HELO 250 (clients parse the
//   keywords) and 354, as RFC 2034 §3 and common practice have it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/clock.hpp"
#include "base/reply.hpp"
#include "base/result.hpp"
#include "smtp/command.hpp"
#include "smtp/envelope.hpp"
#include "smtp/message_reader.hpp"
#include "smtp/session_policy.hpp"

namespace sluice::smtp {

struct SessionSettings {
  std::string hostname = "localhost";        // banner and EHLO name
  std::string banner_text = "ESMTP sluice";  // text after "220 <hostname> "
  std::string connector;                     // receive connector name (goes into the Envelope)
  uint64_t max_message_size = 36 * 1024 * 1024;  // 0 = no limit ("SIZE" without a value)
  size_t max_recipients = 200;               // → 452 4.5.3 (RFC 5321 §4.5.3.1.10)
  int max_errors = 5;                        // protocol errors before 421 4.7.0; ≤ 0 = no limit
  int max_hop_count = 30;                    // Received headers → 554 5.4.6
  std::chrono::seconds command_timeout{300}, data_block_timeout{180};  // RFC 5321 §4.5.3.2
  bool pipelining = true, chunking = true, eightbitmime = true, smtputf8 = true, dsn = true;

  // TLS and AUTH (the receive connector's settings).
  bool tls_available = false;         // a certificate is configured: STARTTLS is offered
  bool require_tls = false;           // 530 5.7.0 for most commands before TLS
  bool allow_plaintext_auth = false;  // AUTH offered before TLS too
  bool auth_required = false;         // usage = "client": MAIL before AUTH → 530 5.7.0
  bool sender_login_match = false;    // MAIL FROM must be the user's → 553 5.7.1
  bool add_missing_headers = false;   // RFC 6409 §8.1, §8.3: add Date and Message-ID
};

// What the driver does next:
//   need_input       read (with current_timeout()), feed(), poll()
//   submit           take_message(), commit, on_submitted()
//   close            write the output, close
//   start_tls        write the output (the 220), TLS handshake, then on_tls_started() or
//                    on_tls_failed(); read nothing in between
//   verify_password  take_password_check(), Authenticator::verify_password off the event loop,
//                    on_password_verified() on the session's loop
//   wait_policy      a SessionPolicy::decide_*() is pending: write the output, call
//                    SessionPolicy::await_verdict(), then on_policy_result() on the session's
//                    loop; read nothing in between (pipelined input stays buffered)
enum class SessionAction { need_input, submit, close, start_tls, verify_password, wait_policy };

// Credentials to check; `password` is secret: never log it, drop it after the check.
struct PasswordCheck {
  std::string username;
  std::string password;
};

class ServerSession {
 public:
  // Asks the policy about the connection and queues the greeting (or the refusal).
  // `authenticator` null: AUTH is not offered. A client with `tls` set starts secure.
  ServerSession(const SessionSettings& settings, SessionPolicy& policy, SessionObserver& observer,
                const Clock& clock, ClientInfo client, Authenticator* authenticator = nullptr);

  // Buffers bytes from the client; call poll() after each feed. Ignored once closed.
  void feed(std::string_view bytes);
  // Processes buffered input as far as it can: every complete command, in order, and message
  // content. submit: take_message(), commit it, on_submitted() (poll() keeps answering submit
  // until then). close: write the output, then close the connection.
  SessionAction poll();
  // The reply bytes produced so far; write them after every poll() and on_*().
  std::string take_output();
  // The finished message, once, after poll() returned submit.
  Message take_message();
  // The commit's outcome: ok → "250 2.0.0 Ok: queued as <id>"; an error → its reply, else
  // "451 4.3.0 Error: message not saved, try again later".
  void on_submitted(const Result<void>& committed);
  // The read deadline passed: "421 4.4.2 <host> Error: timeout exceeded", close.
  void on_timeout();
  // The client went away: close. An open transaction is dropped, never submitted.
  void on_eof();
  // "421 4.3.2 <host> Service shutting down", close; while a commit is in flight, after its
  // reply instead.
  void on_shutdown();
  // Timeout for the next read: the data-block timeout inside DATA/BDAT content, else the
  // command timeout (RFC 5321 §4.5.3.2).
  std::chrono::seconds current_timeout() const;
  bool closed() const;

  // After start_tls: the handshake succeeded; the session starts over as after the greeting
  // (no new greeting, RFC 3207 §4.2) and logs the protocol and cipher.
  void on_tls_started(const TlsInfo& info);
  // The handshake failed: close without a reply (the connection is in no known state).
  void on_tls_failed();
  // After verify_password: the credentials, once.
  PasswordCheck take_password_check();
  // The verdict of Authenticator::verify_password: 235 or 535 (and maybe 421).
  void on_password_verified(bool verified);
  bool secure() const { return tls_.has_value(); }
  const std::string& auth_user() const { return auth_user_; }

  // After wait_policy: the final verdict of the pending decision (accept or reject; a
  // pending here is taken as 451 4.3.0). The session answers the command that waited (the
  // greeting for connect) and goes on with buffered input at the next poll().
  void on_policy_result(const Verdict& verdict);

 private:
  // The one state of the session; only set_state() changes it.
  enum class State {
    connected,   // greeted, no HELO/EHLO yet
    ready,       // after HELO/EHLO: commands (the transaction says how far MAIL/RCPT got)
    data,        // reading DATA content
    bdat,        // reading a BDAT chunk
    committing,  // a finished message waits for on_submitted()
    starting_tls,  // 220 sent for STARTTLS; the driver does the handshake
    auth,        // a 334 was sent; the next line is a SASL response
    verifying,   // the driver checks a password for the SASL exchange
    waiting_policy,  // a policy decision is pending (pending_check_ says which)
    closed,
  };
  static const char* state_name(State s);

  // What one MAIL transaction has built so far; reset by RSET, HELO/EHLO and its end.
  struct Transaction {
    explicit Transaction(uint64_t max_size) : reader(max_size) {}
    void reset();
    bool has_mail = false;
    bool rcpt_seen = false;  // a RCPT was given, accepted or not
    bool used_bdat = false;
    Envelope envelope;
    MessageReader reader;
  };

  void set_state(State s);
  void reply(const Reply& r);
  // Replies and counts a protocol error; closes with 421 4.7.0 at max_errors.
  void protocol_error(const Reply& r);
  void close_with(const Reply& r);
  // The command state to return to after content or a commit.
  State command_state() const { return greeted_ ? State::ready : State::connected; }

  // Takes the next command line from the input; false when none is complete yet.
  bool next_line(std::string& line);
  void handle_line(std::string_view line);
  void handle_helo(const Command& cmd, bool extended);
  // The positive halves of the policy-checked stages, run at once or after the verdict.
  void greet();
  void accept_helo(std::string name, bool extended);
  void accept_mail(const MailFromArgs& args);
  void accept_rcpt(const RcptToArgs& args);
  void accept_message();
  SessionFacts facts() const { return SessionFacts{client_, helo_name_, auth_user_, secure()}; }
  void handle_mail(const Command& cmd);
  void handle_rcpt(const Command& cmd);
  void handle_data();
  void handle_bdat(const Command& cmd);
  void end_of_chunk();
  void handle_starttls();
  void handle_auth(const Command& cmd);
  void handle_sasl_response(std::string_view line);
  // Acts on a SASL step: 334, 235, 535/501 (and the failure limit), or a password check.
  void act_on(SaslStep step);
  void end_sasl();
  bool auth_offered() const;
  // A reply whose text is secret: the client gets `r`, the observer "<code> ****".
  void reply_masked(const Reply& r);
  // The content is complete (DATA end or BDAT LAST): refuse it, or prepare the Message.
  void finish_message(bool from_data);
  Reply ehlo_reply() const;
  std::string protocol_keyword(bool smtputf8) const;

  SessionSettings settings_;
  SessionPolicy& policy_;
  SessionObserver& observer_;
  const Clock& clock_;
  ClientInfo client_;
  Authenticator* authenticator_;

  State state_ = State::connected;
  bool greeted_ = false;            // HELO or EHLO accepted
  bool esmtp_ = false;              // it was EHLO
  std::string helo_name_;
  int errors_ = 0;
  Transaction tx_;

  std::string input_;
  size_t input_pos_ = 0;            // input_ before this was consumed
  bool discarding_long_line_ = false;
  std::string output_;

  // The current BDAT chunk: its size, LAST, and the reply if it is being skipped.
  uint64_t chunk_size_ = 0;
  bool chunk_last_ = false;
  std::optional<Reply> chunk_refusal_;
  bool chunk_refusal_counts_ = false;
  bool bdat_failed_ = false;        // discard further pipelined chunks (RFC 3030 §4.2)

  std::optional<Message> pending_;  // built, not yet taken
  std::string committing_id_;       // queue id of the message being committed
  bool shutdown_after_commit_ = false;  // also after a password check

  std::optional<TlsInfo> tls_;          // set once TLS is up
  std::string auth_user_;               // the login after a successful AUTH
  std::unique_ptr<SaslExchange> sasl_;  // the AUTH exchange in progress
  std::optional<PasswordCheck> password_check_;

  // The decision the session waits for and what it needs to go on afterwards.
  enum class PolicyStage { connect, helo, mail_from, rcpt, message };
  struct PendingCheck {
    PolicyStage stage = PolicyStage::connect;
    State resume_state = State::connected;  // where the session was when it asked
    std::string helo;
    bool extended = false;
    std::optional<MailFromArgs> mail;
    std::optional<RcptToArgs> rcpt;
  };
  // Applies a final verdict to the stage in `check`.
  void apply_verdict(PendingCheck check, const Verdict& verdict);
  // A decide_*() answer: pending parks the session, else apply_verdict at once.
  void on_decision(PendingCheck check, const Verdict& verdict);
  std::optional<PendingCheck> pending_check_;
};

}  // namespace sluice::smtp
