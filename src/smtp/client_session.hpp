// smtp/client_session.hpp: the SMTP client session state machine used for outbound delivery,
// sans-I/O like the server session. It is fed the server's bytes and returns the command bytes
// to write plus the next action (send, read, start TLS, a message is done, close); it never
// touches sockets, TLS, DNS, the clock or the spool.
// Owns: the command sequence (greeting, EHLO with HELO fallback, STARTTLS, AUTH, MAIL, RCPT,
// DATA/BDAT, RSET, QUIT), reply parsing (multi-line, enhanced codes), which ESMTP parameters
// go on MAIL/RCPT, the pre-checks that refuse a message the peer cannot take (SIZE, SMTPUTF8,
// 8BITMIME) without sending it, dot-stuffing, pipelining, masking AUTH in what it reports.
// Not: sockets, timers and the TLS handshake (delivery/smtp_delivery), what a failure means
// for the queue (delivery/outcome), routing, logging format (the observer's implementation).
// RFC 5321 §3 (procedures), §4.1 (commands), §4.2 (replies), §4.3.2 (sequencing), §4.5.2
// (transparency), §4.5.3.2 (timeouts), §3.8 (421); RFC 2920 (PIPELINING); RFC 1870 (SIZE);
// RFC 6152 (8BITMIME); RFC 3030 (CHUNKING, BINARYMIME); RFC 6531 (SMTPUTF8); RFC 3461 §4
// (RET, ENVID, NOTIFY, ORCPT, xtext); RFC 3207 (STARTTLS, §4.2 EHLO again); RFC 4954 (AUTH),
// RFC 4616 (PLAIN); RFC 2034 / 3463 (enhanced status codes).
//
// How a caller drives it (the transport's loop):
//   poll() → send:         write take_output()
//            start_tls:    do the TLS handshake, then on_tls_started() or on_tls_failed()
//            message_done: take_results() for the message given to send_message()
//            close:        write take_output() (may hold a QUIT), close the connection
//            need_input:   if ready_for_message(), it is the caller's turn: send_message() or
//                          quit(); else read with current_timeout() and feed() / on_timeout()
//                          / on_eof()
//
// Choices where the RFCs leave room:
// - A 5xx to EHLO falls back to HELO (RFC 5321 §3.2); a 4xx does not (the peer is busy, not
//   old), it is a session failure.
// - SMTPUTF8 and 8BITMIME are required only when the message really needs them: an envelope
//   marked SMTPUTF8 whose addresses and header are ASCII, or a body marked 8BITMIME that is
//   7-bit, is sent without the extension (as Postfix does); no downgrade is attempted.
// - BINARYMIME content goes with BDAT when the peer offers CHUNKING and BINARYMIME; otherwise
//   it is treated like 8BITMIME content. Everything else goes with DATA.
// - Bytes the server sent after its 220 to STARTTLS and before the handshake are discarded
//   (they were not protected by TLS: the CVE-2011-0411 class of injection).
// - AUTH with credentials only over TLS unless allow_plaintext_auth. When credentials are
//   configured and cannot be used (no TLS, no PLAIN/LOGIN offered) the session fails with a
//   4xx, never delivers unauthenticated.
// - After a transaction the peer refused part-way (MAIL, all RCPTs, or DATA refused), RSET
//   brings the session back before the next message; after a completed DATA it is not needed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/reply.hpp"
#include "smtp/envelope.hpp"

namespace sluice::smtp {

struct ClientSettings {
  std::string helo_name;
  bool try_starttls = true;
  bool require_tls = false;
  std::optional<std::pair<std::string, std::string>> auth;  // user, password
  bool allow_plaintext_auth = false;
  // RFC 5321 §4.5.3.2 (minimums); current_timeout() picks the one for the awaited reply.
  std::chrono::seconds greeting_timeout{300}, command_timeout{300}, data_init_timeout{120},
      data_end_timeout{600};
};

struct OutboundMessage {
  const Envelope* envelope = nullptr;
  const std::string* content = nullptr;  // CRLF line endings, not dot-stuffed (as spooled)
  std::vector<size_t> recipients;        // indexes into envelope->recipients for this transaction
};

enum class ClientAction { send, need_input, start_tls, message_done, close };

struct RecipientResult {
  size_t index = 0;
  Reply reply;
  // "connect", "greeting", "EHLO", "HELO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA",
  // "end of DATA", "RSET", "QUIT", "idle" (between messages); a pre-check refusal (SIZE,
  // SMTPUTF8, 8BITMIME) is reported at "MAIL FROM", where the peer's limits apply.
  std::string stage;
};

struct PeerInfo {
  std::string greeting;              // the greeting text, e.g. "mx.example.net ESMTP Postfix"
  std::string name;                  // its first word: the peer's name, for replies we write
  std::set<std::string> extensions;  // EHLO keywords, upper case
  uint64_t size_limit = 0;           // SIZE value, 0 = none announced
  bool pipelining = false, starttls = false, eightbitmime = false, smtputf8 = false, dsn = false,
       chunking = false, binarymime = false, enhancedstatuscodes = false;
  std::vector<std::string> auth_mechanisms;  // upper case
  bool tls = false;                  // the session runs over TLS (after on_tls_started)
};

// What the session did, for the SEND protocol log. Commands come masked (AUTH data is
// "****"); message content is never reported.
class ClientObserver {
 public:
  virtual ~ClientObserver() = default;
  virtual void on_sent(std::string_view line) = 0;   // one command line, without CRLF
  virtual void on_received(const Reply& reply) = 0;  // one whole reply as parsed
  virtual void on_info(std::string_view data, std::string_view context) = 0;
};

class ClientSession {
 public:
  // observer may be null.
  explicit ClientSession(ClientSettings settings, ClientObserver* observer = nullptr);

  // Buffers bytes from the server; call poll() after each feed. Ignored once closed.
  void feed(std::string_view bytes);
  ClientAction poll();
  std::string take_output();
  void on_tls_started();               // EHLO again (RFC 3207 §4.2)
  void on_tls_failed(std::string why);  // the connection is unusable: session failure, close

  // True when the caller may send_message() or quit(): after EHLO (and STARTTLS/AUTH), or
  // after the previous message's results were taken.
  bool ready_for_message() const;
  // MAIL, RCPTs, DATA pipelined when the peer has PIPELINING (RFC 2920). The envelope and
  // content must outlive the message (until take_results()).
  void send_message(OutboundMessage m);
  // One per recipient of the message, in the order given: the RCPT reply if it failed, else
  // the end-of-DATA reply (or the MAIL/DATA reply that failed the whole transaction).
  std::vector<RecipientResult> take_results();
  // QUIT, then close when the 221 (or anything) arrives.
  void quit();

  const PeerInfo& peer() const { return peer_; }
  // A failure of the session (greeting or EHLO/HELO refused, 421 anywhere, TLS required and
  // not offered or failed, AUTH failure, malformed reply, timeout, connection lost); index
  // unused. Messages in flight also get it in their results.
  const std::optional<RecipientResult>& session_failure() const { return failure_; }
  // The stage whose reply is awaited ("greeting", "EHLO", "end of DATA"...), "" when none.
  std::string_view stage() const;
  std::chrono::seconds current_timeout() const;
  bool closed() const { return state_ == State::closed; }

  // The read deadline passed: "421 4.4.2 Timed out ..." for the session and what is in flight.
  void on_timeout();
  // The server closed the connection: after QUIT that is normal, else "421 4.4.2 Lost
  // connection ...".
  void on_eof();

 private:
  // The one state of the session; only set_state() changes it.
  enum class State {
    greeting,    // waiting for 220
    ehlo,        // EHLO sent
    helo,        // HELO sent (EHLO refused with 5xx)
    starttls,    // STARTTLS sent
    handshake,   // 220 to STARTTLS: waiting for on_tls_started()/on_tls_failed()
    auth,        // AUTH sent, waiting for 334/235
    ready,       // between messages: the caller's turn
    transaction, // MAIL/RCPT/DATA/end-of-DATA replies awaited (Transaction::pending)
    rset,        // RSET sent after a refused transaction
    quitting,    // QUIT sent
    closed,
  };

  // A command whose reply is awaited, in the order they were sent (pipelining).
  enum class Expect { mail, rcpt, data, end_of_data, dot_ignored };

  struct Transaction {
    // Declared, defined in the .cpp: clang does not see a nested class with default member
    // initializers as default-constructible before the enclosing class is complete, and
    // std::optional<Transaction>::emplace() would not compile.
    Transaction();
    OutboundMessage message;
    std::vector<std::optional<RecipientResult>> results;  // per message.recipients position
    std::vector<Expect> pending;
    size_t next_rcpt_reply = 0;        // position of the next RCPT reply in message.recipients
    size_t next_rcpt_to_send = 0;      // without pipelining: RCPTs are sent one by one
    bool mail_ok = false;
    size_t accepted = 0;
    bool use_bdat = false;
    bool body_8bit = false;            // send BODY=8BITMIME
  };

  void set_state(State s);
  void send_line(std::string line, std::string_view masked = {});
  // Takes the next complete reply from the input; false when none is complete yet. A
  // malformed reply fails the session.
  bool next_reply(Reply& reply);
  void handle_reply(const Reply& reply);
  void handle_greeting(const Reply& r);
  void handle_ehlo(const Reply& r, bool extended);
  void handle_starttls(const Reply& r);
  void handle_auth(const Reply& r);
  void handle_transaction(const Reply& r);
  void handle_rset(const Reply& r);

  void send_ehlo();
  // After EHLO: STARTTLS, AUTH or ready, as the settings and the peer say.
  void after_ehlo();
  void start_auth();
  void parse_ehlo(const Reply& r);

  // Refuses the message before sending anything when the peer cannot take it.
  std::optional<Reply> precheck(const OutboundMessage& m, Transaction& tx) const;
  std::string mail_command(const OutboundMessage& m, const Transaction& tx) const;
  std::string rcpt_command(const Recipient& r) const;
  void send_next_rcpt();
  void send_content();
  // Gives every recipient without a result this reply and stage.
  void fill_results(const Reply& r, std::string_view stage);
  void finish_transaction(bool need_rset);

  // Session failure: records it, fails what is in flight, sends QUIT if polite, closes.
  void fail_session(Reply r, std::string_view stage, bool send_quit);
  std::string peer_name() const;

  ClientSettings settings_;
  ClientObserver* observer_;
  State state_ = State::greeting;
  PeerInfo peer_;
  bool starttls_refused_ = false;  // opportunistic STARTTLS refused: plaintext from here on

  std::string input_;
  size_t input_pos_ = 0;
  std::string output_;
  bool start_tls_pending_ = false;

  // AUTH LOGIN sends the user then the password, each after a 334.
  int auth_step_ = 0;
  std::string auth_mechanism_;

  std::optional<Transaction> tx_;
  bool results_ready_ = false;
  std::vector<RecipientResult> results_;

  std::optional<RecipientResult> failure_;
};

}  // namespace sluice::smtp
