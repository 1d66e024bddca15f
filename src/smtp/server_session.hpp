// smtp/server_session.hpp: the SMTP server session state machine, sans-I/O. It is fed the
// bytes a client sent and returns reply bytes plus the next action (read more, commit a
// message, close); it never touches sockets, disk or the wall clock (time comes in through
// Clock&, decisions through SessionPolicy, events go out through SessionObserver).
// Owns: command sequencing, the ESMTP extensions we offer and their limits, reply choice,
// pipelining order, DATA/BDAT framing (through MessageReader), filling the Envelope, adding
// our Received header. Not: command and parameter grammar (command.hpp, esmtp_params.hpp,
// address.hpp), decisions (SessionPolicy), storage (the lead's committer), TLS and AUTH
// (later: the seams are marked "TLS/AUTH seam").
// RFC 5321 §3 (procedures), §4.1 (commands), §4.2 (replies), §4.3.2 (sequencing), §4.5.2
// (transparency), §4.5.3.1 (limits), §4.5.3.2 (timeouts), §4.4 (trace), §2.3.8 (line ends);
// RFC 1870 (SIZE), RFC 2920 (PIPELINING), RFC 6152 (8BITMIME), RFC 2034 and 3463 (enhanced
// status codes), RFC 3030 (CHUNKING/BDAT), RFC 6531 (SMTPUTF8), RFC 3461 (DSN), RFC 3848
// (protocol keywords: SMTP, ESMTP, UTF8SMTP; RFC 6531 §3.7.7 registers no "UTF8ESMTP",
// SMTPUTF8 always implies EHLO, so a UTF-8 transaction is "UTF8SMTP").
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
};

enum class SessionAction { need_input, submit, close };

class ServerSession {
 public:
  // Asks the policy about the connection and queues the greeting (or the refusal).
  ServerSession(const SessionSettings& settings, SessionPolicy& policy, SessionObserver& observer,
                const Clock& clock, ClientInfo client);

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

 private:
  // The one state of the session; only set_state() changes it.
  enum class State {
    connected,   // greeted, no HELO/EHLO yet
    ready,       // after HELO/EHLO: commands (the transaction says how far MAIL/RCPT got)
    data,        // reading DATA content
    bdat,        // reading a BDAT chunk
    committing,  // a finished message waits for on_submitted()
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
  void handle_mail(const Command& cmd);
  void handle_rcpt(const Command& cmd);
  void handle_data();
  void handle_bdat(const Command& cmd);
  void end_of_chunk();
  // The content is complete (DATA end or BDAT LAST): refuse it, or prepare the Message.
  void finish_message(bool from_data);
  Reply ehlo_reply() const;

  SessionSettings settings_;
  SessionPolicy& policy_;
  SessionObserver& observer_;
  const Clock& clock_;
  ClientInfo client_;

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
  bool shutdown_after_commit_ = false;
};

}  // namespace sluice::smtp
