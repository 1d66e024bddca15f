// smtp/server_session.cpp: the SMTP server session state machine; see server_session.hpp
// for what it owns and the choices it makes.
#include "smtp/server_session.hpp"

#include <utility>

#include "base/assert.hpp"
#include "smtp/esmtp_params.hpp"
#include "smtp/received_header.hpp"

namespace sluice::smtp {
namespace {

// RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with its CRLF. Input beyond that
// without a line end is discarded up to the next LF, so the buffer never grows unbounded.
constexpr size_t kMaxRawLine = kMaxCommandLine + 2;

std::string_view trim_cr(std::string_view s) {
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

// AUTH lines carry credentials; the protocol log sees "AUTH <mech> ****".
std::string masked_for_log(std::string_view line, Verb verb) {
  if (verb != Verb::auth) return std::string(line);
  const size_t mech_start = line.find_first_not_of(' ', 4);
  if (mech_start == std::string_view::npos) return std::string(line);
  const size_t mech_end = line.find(' ', mech_start);
  if (mech_end == std::string_view::npos) return std::string(line);
  return std::string(line.substr(0, mech_end)) + " ****";
}

Reply reply_of(const Error& e, Reply fallback) { return e.reply ? *e.reply : std::move(fallback); }

bool has_mail_esmtp_params(const MailFromArgs& a) {
  return a.size_given || a.body_given || a.smtputf8 || a.ret != DsnRet::unspecified || !a.envid.empty() ||
         !a.auth.empty();
}

bool has_rcpt_esmtp_params(const RcptToArgs& a) { return a.notify.specified || !a.orcpt.empty(); }

const Reply kNeedHelo{503, "5.5.1", "Error: send HELO/EHLO first"};
const Reply kNeedMail{503, "5.5.1", "Error: need MAIL command"};
const Reply kNoValidRecipients{554, "5.5.1", "Error: no valid recipients"};
const Reply kNeedRcpt{503, "5.5.1", "Error: need RCPT command"};
const Reply kTooBig{552, "5.3.4", "Error: message size exceeds fixed maximum message size"};
const Reply kNotImplemented{502, "5.5.1", "Error: command not implemented"};
const Reply kMustStartTls{530, "5.7.0", "Must issue a STARTTLS command first"};
const Reply kAuthRequired{530, "5.7.0", "Authentication required"};
const Reply kTooManyLogons{421, "4.7.0", "Too many failed logons, try again later"};
const Reply kAuthInvalid{535, "5.7.8", "Authentication credentials invalid"};

// The verbs a client may use before TLS on a require_tls connector (RFC 3207 §4: a server
// may require TLS; these are what a client needs to get there or leave).
bool allowed_before_tls(Verb v) {
  switch (v) {
    case Verb::ehlo:
    case Verb::helo:
    case Verb::starttls:
    case Verb::noop:
    case Verb::rset:
    case Verb::quit:
      return true;
    default:
      return false;
  }
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Whether the header section of `content` (up to the first empty line) has a field `name`.
bool has_header_field(std::string_view content, std::string_view name) {
  size_t pos = 0;
  while (pos < content.size()) {
    const size_t end = content.find("\r\n", pos);
    const std::string_view line = content.substr(pos, end == std::string_view::npos ? content.size() - pos : end - pos);
    if (line.empty()) return false;
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && line.front() != ' ' && line.front() != '\t') {
      std::string_view field = line.substr(0, colon);
      while (!field.empty() && (field.back() == ' ' || field.back() == '\t')) field.remove_suffix(1);
      if (iequals(field, name)) return true;
    }
    if (end == std::string_view::npos) return false;
    pos = end + 2;
  }
  return false;
}

}  // namespace

const char* ServerSession::state_name(State s) {
  switch (s) {
    case State::connected: return "connected";
    case State::ready: return "ready";
    case State::data: return "data";
    case State::bdat: return "bdat";
    case State::committing: return "committing";
    case State::starting_tls: return "starting tls";
    case State::auth: return "auth";
    case State::verifying: return "verifying";
    case State::waiting_policy: return "waiting for policy";
    case State::closed: return "closed";
  }
  return "unknown";
}

void ServerSession::Transaction::reset() {
  has_mail = false;
  rcpt_seen = false;
  used_bdat = false;
  envelope = Envelope{};
  reader.reset();
}

ServerSession::ServerSession(const SessionSettings& settings, SessionPolicy& policy,
                             SessionObserver& observer, const Clock& clock, ClientInfo client,
                             Authenticator* authenticator)
    : settings_(settings),
      policy_(policy),
      observer_(observer),
      clock_(clock),
      client_(std::move(client)),
      authenticator_(authenticator),
      tx_(settings.max_message_size) {
  tls_ = client_.tls;  // implicit TLS: secure from the first byte
  PendingCheck check;
  check.stage = PolicyStage::connect;
  on_decision(std::move(check), policy_.decide_connect(facts()));
}

void ServerSession::greet() { reply(Reply(220, "", settings_.hostname + " " + settings_.banner_text)); }

void ServerSession::on_decision(PendingCheck check, const Verdict& verdict) {
  if (verdict.is_pending()) {
    check.resume_state = state_;
    pending_check_ = std::move(check);
    set_state(State::waiting_policy);
    return;
  }
  apply_verdict(std::move(check), verdict);
}

void ServerSession::on_policy_result(const Verdict& verdict) {
  if (state_ != State::waiting_policy || !pending_check_) return;  // closed meanwhile
  PendingCheck check = std::move(*pending_check_);
  pending_check_.reset();
  set_state(check.resume_state);
  // A policy must settle; one that answers "pending" again has failed to decide.
  apply_verdict(std::move(check),
                verdict.is_pending()
                    ? Verdict::reject(Reply(451, "4.3.0", "Error: policy check unavailable, try again later"))
                    : verdict);
  if (shutdown_after_commit_ && state_ != State::closed && state_ != State::committing) {
    close_with(Reply(421, "4.3.2", settings_.hostname + " Service shutting down"));
  }
}

void ServerSession::apply_verdict(PendingCheck check, const Verdict& verdict) {
  const bool accepted = verdict.accepted();
  switch (check.stage) {
    case PolicyStage::connect:
      if (!accepted) return close_with(verdict.reply());  // RFC 5321 §3.1: instead of the greeting
      return greet();
    case PolicyStage::helo:
      if (!accepted) return reply(verdict.reply());
      return accept_helo(std::move(check.helo), check.extended);
    case PolicyStage::mail_from:
      if (!accepted) return reply(verdict.reply());
      return accept_mail(*check.mail);
    case PolicyStage::rcpt:
      if (!accepted) return reply(verdict.reply());
      return accept_rcpt(*check.rcpt);
    case PolicyStage::message:
      if (!accepted) {
        // RFC 5321 §4.2.5: the refusal after the end of data answers the whole message.
        pending_.reset();
        committing_id_.clear();
        return reply(verdict.reply());
      }
      return accept_message();
  }
}

void ServerSession::set_state(State s) {
  if (s == state_) return;
  state_ = s;
  observer_.on_info(state_name(s), "session state");
}

void ServerSession::reply(const Reply& r) {
  observer_.on_reply(r);
  output_ += r.wire();
}

void ServerSession::reply_masked(const Reply& r) {
  observer_.on_reply(Reply(r.code(), r.enhanced(), "****"));
  output_ += r.wire();
}

void ServerSession::close_with(const Reply& r) {
  reply(r);
  tx_.reset();
  pending_.reset();
  sasl_.reset();
  password_check_.reset();
  pending_check_.reset();
  set_state(State::closed);
}

void ServerSession::protocol_error(const Reply& r) {
  if (state_ == State::auth) end_sasl();  // e.g. an overlong response ends the exchange
  reply(r);
  ++errors_;
  if (settings_.max_errors > 0 && errors_ >= settings_.max_errors) {
    close_with(Reply(421, "4.7.0", settings_.hostname + " Error: too many errors"));
  }
}

void ServerSession::feed(std::string_view bytes) {
  // Nothing may be read between the 220 to STARTTLS and the handshake (CVE-2011-0411).
  if (state_ == State::closed || state_ == State::starting_tls) return;
  input_.append(bytes);
}

std::string ServerSession::take_output() { return std::exchange(output_, std::string()); }

bool ServerSession::closed() const { return state_ == State::closed; }

std::chrono::seconds ServerSession::current_timeout() const {
  return state_ == State::data || state_ == State::bdat ? settings_.data_block_timeout
                                                        : settings_.command_timeout;
}

SessionAction ServerSession::poll() {
  // Every pass consumes input or changes state, and input is finite: the loop ends.
  while (true) {
    switch (state_) {
      case State::closed:
        input_.clear();
        input_pos_ = 0;
        return SessionAction::close;
      case State::committing:
        return SessionAction::submit;
      case State::starting_tls:
        input_.clear();
        input_pos_ = 0;
        return SessionAction::start_tls;
      case State::verifying:
        return SessionAction::verify_password;
      case State::waiting_policy:
        return SessionAction::wait_policy;
      case State::auth: {
        std::string line;
        if (!next_line(line)) break;
        handle_sasl_response(line);
        continue;
      }
      case State::data:
      case State::bdat: {
        const std::string_view rest = std::string_view(input_).substr(input_pos_);
        input_pos_ += tx_.reader.consume(rest);
        if (!tx_.reader.done()) break;  // needs more input
        if (state_ == State::data) {
          finish_message(true);
        } else {
          end_of_chunk();
        }
        continue;
      }
      case State::connected:
      case State::ready: {
        std::string line;
        if (!next_line(line)) break;
        handle_line(line);
        continue;
      }
    }
    // Waiting for input: drop what has been consumed (at most one partial line remains in
    // command state; content is consumed as it comes).
    input_.erase(0, input_pos_);
    input_pos_ = 0;
    return SessionAction::need_input;
  }
}

bool ServerSession::next_line(std::string& line) {
  while (input_pos_ < input_.size()) {
    const size_t lf = input_.find('\n', input_pos_);
    if (discarding_long_line_) {
      if (lf == std::string::npos) {
        input_pos_ = input_.size();
        return false;
      }
      input_pos_ = lf + 1;
      discarding_long_line_ = false;
      protocol_error(Reply(500, "5.5.2", "Error: line too long"));
      if (state_ == State::closed) return false;
      continue;
    }
    if (lf == std::string::npos) {
      if (input_.size() - input_pos_ > kMaxRawLine) {
        discarding_long_line_ = true;
        input_pos_ = input_.size();
      }
      return false;
    }
    // CRLF ends a command line; a bare LF is accepted too (lenient, like Postfix). This is
    // safe here: it never applies inside message content, where only CRLF.CRLF ends data.
    const std::string_view raw = trim_cr(std::string_view(input_).substr(input_pos_, lf - input_pos_));
    input_pos_ = lf + 1;
    if (raw.size() > kMaxCommandLine) {
      protocol_error(Reply(500, "5.5.2", "Error: line too long"));
      if (state_ == State::closed) return false;
      continue;
    }
    line.assign(raw);
    return true;
  }
  return false;
}

void ServerSession::handle_line(std::string_view line) {
  auto parsed = parse_command(line);
  observer_.on_command(masked_for_log(line, parsed ? parsed->verb : Verb::unknown));
  if (!parsed) {
    protocol_error(reply_of(parsed.error(), Reply(500, "5.5.2", "Error: syntax error")));
    return;
  }
  const Command& cmd = *parsed;
  if (cmd.verb != Verb::bdat) bdat_failed_ = false;  // the failed chunk pipeline is over
  if (settings_.require_tls && !secure() && !allowed_before_tls(cmd.verb)) {
    // A BDAT's chunk still follows the command: refuse it as a whole, never read it as commands.
    if (cmd.verb == Verb::bdat) {
      auto args = parse_bdat(cmd.argument);
      if (args) {
        chunk_size_ = args->size;
        chunk_last_ = args->last;
        chunk_refusal_ = kMustStartTls;
        chunk_refusal_counts_ = false;
        tx_.reader.begin_chunk(chunk_size_, true);
        set_state(State::bdat);
        return;
      }
    }
    reply(kMustStartTls);
    return;
  }

  switch (cmd.verb) {
    case Verb::helo: handle_helo(cmd, false); return;
    case Verb::ehlo: handle_helo(cmd, true); return;
    case Verb::mail: handle_mail(cmd); return;
    case Verb::rcpt: handle_rcpt(cmd); return;
    case Verb::data: handle_data(); return;
    case Verb::bdat: handle_bdat(cmd); return;
    case Verb::rset:
      tx_.reset();
      reply(Reply(250, "2.0.0", "Ok"));
      return;
    case Verb::noop: reply(Reply(250, "2.0.0", "Ok")); return;
    case Verb::quit:
      close_with(Reply(221, "2.0.0", "Bye"));
      return;
    case Verb::vrfy:
      // RFC 5321 §3.5.3: never confirm or deny a user (address harvesting).
      reply(Reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"));
      return;
    case Verb::expn: reply(kNotImplemented); return;
    case Verb::help:
      reply(Reply(214, "2.0.0", "sluice: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY; see RFC 5321"));
      return;
    case Verb::starttls: handle_starttls(); return;
    case Verb::auth: handle_auth(cmd); return;
    case Verb::unknown:
      protocol_error(Reply(500, "5.5.2", "Error: command not recognized"));
      return;
  }
}

Reply ServerSession::ehlo_reply() const {
  std::vector<std::string> lines{settings_.hostname};
  if (settings_.pipelining) lines.emplace_back("PIPELINING");
  lines.emplace_back(settings_.max_message_size == 0 ? std::string("SIZE")
                                                     : "SIZE " + std::to_string(settings_.max_message_size));
  if (settings_.eightbitmime) lines.emplace_back("8BITMIME");
  lines.emplace_back("ENHANCEDSTATUSCODES");
  if (settings_.smtputf8) lines.emplace_back("SMTPUTF8");
  if (settings_.chunking) lines.emplace_back("CHUNKING");
  if (settings_.dsn) lines.emplace_back("DSN");
  // RFC 3207 §4.2: STARTTLS is not offered once TLS is up.
  if (settings_.tls_available && !secure()) lines.emplace_back("STARTTLS");
  if (auth_offered() && (secure() || settings_.allow_plaintext_auth)) {
    std::string auth = "AUTH";
    for (const std::string& m : authenticator_->mechanisms()) auth += " " + m;
    lines.push_back(std::move(auth));
  }
  return Reply(250, "", std::move(lines));
}

void ServerSession::handle_helo(const Command& cmd, bool extended) {
  PendingCheck check;
  check.stage = PolicyStage::helo;
  check.helo = cmd.argument;
  check.extended = extended;
  const Verdict v = policy_.decide_helo(facts(), cmd.argument);
  on_decision(std::move(check), v);
}

void ServerSession::accept_helo(std::string name, bool extended) {
  tx_.reset();  // RFC 5321 §4.1.4: EHLO/HELO also resets the transaction
  greeted_ = true;
  esmtp_ = extended;
  helo_name_ = std::move(name);
  set_state(State::ready);
  reply(extended ? ehlo_reply() : Reply(250, "", settings_.hostname));
}

void ServerSession::handle_mail(const Command& cmd) {
  if (!greeted_) return protocol_error(kNeedHelo);
  if (tx_.has_mail) return protocol_error(Reply(503, "5.5.1", "Error: nested MAIL command"));
  // RFC 6409 §4.3: a submission server authenticates its clients before it takes mail.
  if (settings_.auth_required && auth_user_.empty()) {
    reply(kAuthRequired);
    return;
  }
  auto args = parse_mail_from(cmd.argument);
  if (!args) return protocol_error(reply_of(args.error(), Reply(501, "5.5.4", "Syntax: MAIL FROM:<address>")));
  if (!esmtp_ && has_mail_esmtp_params(*args)) {
    return protocol_error(Reply(555, "5.5.4", "Error: ESMTP parameters need EHLO"));
  }
  if (args->smtputf8 && !settings_.smtputf8) return protocol_error(Reply(555, "5.5.4", "Unsupported parameter SMTPUTF8"));
  if (args->body == BodyType::eight_bit_mime && !settings_.eightbitmime) {
    return protocol_error(Reply(555, "5.5.4", "Unsupported parameter BODY=8BITMIME"));
  }
  if (args->body == BodyType::binary_mime) {  // BINARYMIME is not offered (RFC 3030 §3)
    return protocol_error(Reply(555, "5.5.4", "Unsupported parameter BODY=BINARYMIME"));
  }
  if ((args->ret != DsnRet::unspecified || !args->envid.empty()) && !settings_.dsn) {
    return protocol_error(Reply(555, "5.5.4", "Unsupported parameter (DSN is not offered)"));
  }
  // RFC 4954 §5: AUTH= is accepted when AUTH is offered; we trust no identity from it (it
  // only matters between servers that trust each other), so its value is not used.
  if (!args->auth.empty() && !auth_offered()) {
    return protocol_error(Reply(555, "5.5.4", "Unsupported parameter AUTH"));
  }
  if (settings_.max_message_size != 0 && args->size > settings_.max_message_size) {
    // RFC 1870 §6.2: a declared size above the limit is refused at MAIL.
    reply(kTooBig);
    return;
  }
  // RFC 6409 §6.1: the submission server may check that the sender is the user's. The null
  // sender carries no identity to check.
  const std::string sender = args->path.address();
  if (settings_.sender_login_match && !auth_user_.empty() && !sender.empty() &&
      !authenticator_->may_send_as(auth_user_, sender)) {
    reply(Reply(553, "5.7.1", "Sender address rejected: not owned by user " + auth_user_));
    return;
  }
  PendingCheck check;
  check.stage = PolicyStage::mail_from;
  check.mail = *args;
  const Verdict v = policy_.decide_mail_from(facts(), *args);
  on_decision(std::move(check), v);
}

void ServerSession::accept_mail(const MailFromArgs& args_in) {
  const MailFromArgs* args = &args_in;
  tx_.reset();
  tx_.has_mail = true;
  Envelope& env = tx_.envelope;
  env.auth_user = auth_user_;  // relay control lets an authenticated client relay
  env.mail_from = args->path.address();
  env.body = args->body;
  env.smtputf8 = args->smtputf8;
  env.ret = args->ret;
  env.envid = args->envid;
  env.declared_size = args->size;
  reply(Reply(250, "2.1.0", "Ok"));
}

void ServerSession::handle_rcpt(const Command& cmd) {
  if (!greeted_) return protocol_error(kNeedHelo);
  if (!tx_.has_mail) return protocol_error(kNeedMail);
  tx_.rcpt_seen = true;
  auto args = parse_rcpt_to(cmd.argument, tx_.envelope.smtputf8);
  if (!args) return protocol_error(reply_of(args.error(), Reply(501, "5.5.4", "Syntax: RCPT TO:<address>")));
  if (!esmtp_ && has_rcpt_esmtp_params(*args)) {
    return protocol_error(Reply(555, "5.5.4", "Error: ESMTP parameters need EHLO"));
  }
  if (has_rcpt_esmtp_params(*args) && !settings_.dsn) {
    return protocol_error(Reply(555, "5.5.4", "Unsupported parameter (DSN is not offered)"));
  }
  if (tx_.envelope.recipients.size() >= settings_.max_recipients) {
    reply(Reply(452, "4.5.3", "Error: too many recipients"));
    return;
  }
  PendingCheck check;
  check.stage = PolicyStage::rcpt;
  check.rcpt = *args;
  const Verdict v = policy_.decide_rcpt(facts(), *args, tx_.envelope);
  on_decision(std::move(check), v);
}

void ServerSession::accept_rcpt(const RcptToArgs& args_in) {
  const RcptToArgs* args = &args_in;
  tx_.envelope.recipients.push_back(Recipient{args->path.address(), args->notify, args->orcpt});
  reply(Reply(250, "2.1.5", "Ok"));
}

void ServerSession::handle_data() {
  if (!greeted_) return protocol_error(kNeedHelo);
  if (!tx_.has_mail) return protocol_error(kNeedMail);
  if (tx_.used_bdat) return protocol_error(Reply(503, "5.5.1", "Error: DATA after BDAT in one transaction"));
  // No RCPT at all is a sequence error (RFC 5321 §3.3); RCPTs that were all refused get 554
  // (RFC 2920 §3.1), as Postfix answers.
  if (!tx_.rcpt_seen) return protocol_error(kNeedRcpt);
  if (tx_.envelope.recipients.empty()) {
    reply(kNoValidRecipients);
    return;
  }
  tx_.reader.begin_data();
  set_state(State::data);
  reply(Reply(354, "", "End data with <CR><LF>.<CR><LF>"));
}

void ServerSession::handle_bdat(const Command& cmd) {
  auto args = parse_bdat(cmd.argument);
  if (!args) return protocol_error(reply_of(args.error(), Reply(501, "5.5.4", "Syntax: BDAT <size> [LAST]")));

  // The chunk's octets follow the command whatever we answer: a refused chunk is skipped
  // exactly, so its content can never be read as commands.
  chunk_size_ = args->size;
  chunk_last_ = args->last;
  chunk_refusal_.reset();
  chunk_refusal_counts_ = false;
  if (!settings_.chunking || !esmtp_) {
    chunk_refusal_ = kNotImplemented;
  } else if (bdat_failed_) {
    chunk_refusal_ = Reply(503, "5.5.1", "Error: chunk discarded after a failed BDAT");
  } else if (!greeted_ || !tx_.has_mail) {
    chunk_refusal_ = greeted_ ? kNeedMail : kNeedHelo;
    chunk_refusal_counts_ = true;
  } else if (!tx_.rcpt_seen) {
    chunk_refusal_ = kNeedRcpt;
    chunk_refusal_counts_ = true;
  } else if (tx_.envelope.recipients.empty()) {
    chunk_refusal_ = kNoValidRecipients;
  }
  if (chunk_refusal_) {
    tx_.reader.begin_chunk(chunk_size_, true);
  } else {
    tx_.used_bdat = true;
    tx_.reader.begin_chunk(chunk_size_, false);
  }
  set_state(State::bdat);
}

void ServerSession::end_of_chunk() {
  set_state(command_state());
  if (chunk_refusal_) {
    bdat_failed_ = true;
    const Reply r = *std::exchange(chunk_refusal_, std::nullopt);
    if (chunk_refusal_counts_) {
      protocol_error(r);
    } else {
      reply(r);
    }
    return;
  }
  if (tx_.reader.too_big()) {
    // RFC 3030 §4.2: the transaction failed; chunks already in the pipeline are discarded.
    bdat_failed_ = !chunk_last_;
    tx_.reset();
    reply(kTooBig);
    return;
  }
  if (!chunk_last_) {
    reply(Reply(250, "2.0.0", std::to_string(chunk_size_) + " octets received"));
    return;
  }
  finish_message(false);
}

void ServerSession::finish_message(bool from_data) {
  set_state(command_state());
  if (tx_.reader.too_big()) {
    tx_.reset();
    reply(kTooBig);
    return;
  }
  if (from_data && tx_.reader.bare_line_ending()) {
    tx_.reset();
    reply(Reply(550, "5.6.0", "Message rejected: bare LF or CR in the message (RFC 5321 section 2.3.8)"));
    return;
  }
  const std::string& content = tx_.reader.content();
  if (count_received_headers(content) > settings_.max_hop_count) {
    tx_.reset();
    reply(Reply(554, "5.4.6", "Error: too many hops"));  // RFC 5321 §6.3: a mail loop
    return;
  }

  Envelope env = std::move(tx_.envelope);
  env.queue_id = policy_.new_queue_id();
  env.connector = settings_.connector;
  env.client_ip = client_.ip;
  env.client_port = client_.port;
  env.client_helo = helo_name_;
  env.protocol = protocol_keyword(env.smtputf8);
  env.auth_user = auth_user_;
  env.message_id = find_message_id(content);
  const SystemTime now = clock_.now();
  env.received_at_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();

  // RFC 6409 §8.1 and §8.3: a submission server adds the Date and Message-ID a client left
  // out. They go after our Received field, at the top of the client's header section.
  std::string added;
  if (settings_.add_missing_headers) {
    if (!has_header_field(content, "Date")) added += "Date: " + rfc5322_date(now) + "\r\n";
    if (env.message_id.empty() && !has_header_field(content, "Message-ID")) {
      env.message_id = "<" + env.queue_id + "@" + settings_.hostname + ">";
      added += "Message-ID: " + env.message_id + "\r\n";
    }
  }

  ReceivedInfo info;
  info.helo = helo_name_;
  info.reverse_name = client_.reverse_name;
  info.ip = client_.ip;
  info.hostname = settings_.hostname;
  info.protocol = env.protocol;
  info.queue_id = env.queue_id;
  if (env.recipients.size() == 1) info.for_recipient = env.recipients.front().address;
  info.when = now;
  if (tls_) {
    info.tls_version = tls_->version;
    info.tls_cipher = tls_->cipher;
    info.tls_bits = tls_->bits;
  }
  info.auth_user = auth_user_;

  Message m;
  m.content = make_received_header(info);
  m.content += added;
  m.content += content;
  m.envelope = std::move(env);
  tx_.reset();
  committing_id_ = m.envelope.queue_id;
  pending_ = std::move(m);
  PendingCheck check;
  check.stage = PolicyStage::message;
  const Verdict v = policy_.decide_message(facts(), *pending_);
  on_decision(std::move(check), v);
}

void ServerSession::accept_message() { set_state(State::committing); }

Message ServerSession::take_message() {
  SLUICE_ASSERT(state_ == State::committing && pending_.has_value());
  Message m = std::move(*pending_);
  pending_.reset();
  return m;
}

void ServerSession::on_submitted(const Result<void>& committed) {
  SLUICE_ASSERT(state_ == State::committing);
  pending_.reset();
  set_state(command_state());
  if (committed) {
    observer_.on_info("queued as " + committing_id_, "message accepted");
    reply(Reply(250, "2.0.0", "Ok: queued as " + committing_id_));
  } else {
    reply(reply_of(committed.error(), Reply(451, "4.3.0", "Error: message not saved, try again later")));
  }
  if (shutdown_after_commit_) {
    close_with(Reply(421, "4.3.2", settings_.hostname + " Service shutting down"));
  }
}

std::string ServerSession::protocol_keyword(bool smtputf8) const {
  if (!esmtp_) return "SMTP";
  std::string p = smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (secure()) p += "S";
  if (!auth_user_.empty()) p += "A";
  return p;
}

bool ServerSession::auth_offered() const {
  return authenticator_ != nullptr && !authenticator_->mechanisms().empty();
}

void ServerSession::handle_starttls() {
  if (!settings_.tls_available) {
    reply(kNotImplemented);
    return;
  }
  if (secure()) return protocol_error(Reply(503, "5.5.1", "Error: TLS already active"));
  reply(Reply(220, "2.0.0", "Ready to start TLS"));
  // CVE-2011-0411: whatever the client pipelined after STARTTLS came in plaintext and could
  // have been injected by anyone on the path; it must not be executed after the handshake.
  const size_t pending = input_.size() - input_pos_;
  if (pending > 0) {
    observer_.on_info(std::to_string(pending) + " octets after STARTTLS discarded", "STARTTLS");
  }
  input_.clear();
  input_pos_ = 0;
  discarding_long_line_ = false;
  set_state(State::starting_tls);
}

void ServerSession::on_tls_started(const TlsInfo& info) {
  if (state_ != State::starting_tls) return;
  tls_ = info;
  observer_.on_info("TLS protocol " + info.version + " negotiated with cipher " + info.cipher,
                    "TLS negotiation succeeded");
  // RFC 3207 §4.2: discard all knowledge obtained from the client before TLS.
  greeted_ = false;
  esmtp_ = false;
  helo_name_.clear();
  auth_user_.clear();
  tx_.reset();
  bdat_failed_ = false;
  input_.clear();
  input_pos_ = 0;
  set_state(State::connected);
}

void ServerSession::on_tls_failed() {
  if (state_ == State::closed) return;
  observer_.on_info("TLS handshake failed", "TLS negotiation failed");
  tx_.reset();
  set_state(State::closed);
}

void ServerSession::handle_auth(const Command& cmd) {
  if (!auth_offered()) {
    reply(kNotImplemented);
    return;
  }
  if (!esmtp_) return protocol_error(Reply(503, "5.5.1", "Error: send EHLO first"));
  if (!secure() && !settings_.allow_plaintext_auth) {
    reply(Reply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
    return;
  }
  if (!auth_user_.empty()) return protocol_error(Reply(503, "5.5.1", "Error: already authenticated"));
  if (tx_.has_mail) return protocol_error(Reply(503, "5.5.1", "Error: MAIL transaction in progress"));
  if (authenticator_->blocked(client_.ip)) {
    close_with(kTooManyLogons);
    return;
  }
  const std::string_view arg = cmd.argument;
  const size_t sp = arg.find(' ');
  const std::string_view mechanism = arg.substr(0, sp);
  std::optional<std::string_view> initial;
  if (sp != std::string_view::npos) {
    initial = arg.substr(sp + 1);
    while (!initial->empty() && initial->front() == ' ') initial->remove_prefix(1);
  }
  sasl_ = authenticator_->begin(mechanism);
  if (!sasl_) {
    reply(Reply(504, "5.5.4", "Error: authentication mechanism not supported"));
    return;
  }
  act_on(sasl_->start(initial));
}

void ServerSession::handle_sasl_response(std::string_view line) {
  observer_.on_command("****");
  if (line == "*") {  // RFC 4954 §4: the client cancels
    end_sasl();
    reply(Reply(501, "5.0.0", "Authentication aborted"));
    return;
  }
  act_on(sasl_->step(line));
}

void ServerSession::end_sasl() {
  sasl_.reset();
  password_check_.reset();
  if (state_ == State::auth || state_ == State::verifying) set_state(command_state());
}

void ServerSession::act_on(SaslStep step) {
  switch (step.kind) {
    case SaslStepKind::challenge:
      set_state(State::auth);
      reply_masked(Reply(334, "", step.data));
      return;
    case SaslStepKind::need_verification:
      password_check_ = PasswordCheck{std::move(step.username), std::move(step.password)};
      set_state(State::verifying);
      return;
    case SaslStepKind::success:
      end_sasl();
      auth_user_ = step.username;
      authenticator_->success(client_.ip);
      observer_.on_info(auth_user_, "authenticated");
      reply(Reply(235, "2.7.0", "Authentication successful"));
      return;
    case SaslStepKind::failure:
      end_sasl();
      if (step.reply) {  // malformed response: a protocol slip, not a wrong password
        reply(*step.reply);
        return;
      }
      observer_.on_info(step.username.empty() ? step.data : step.username + ": " + step.data,
                        "authentication failed");
      reply(kAuthInvalid);
      if (authenticator_->failure(client_.ip)) close_with(kTooManyLogons);
      return;
  }
}

PasswordCheck ServerSession::take_password_check() {
  SLUICE_ASSERT(state_ == State::verifying && password_check_.has_value());
  PasswordCheck c = std::move(*password_check_);
  password_check_.reset();
  return c;
}

void ServerSession::on_password_verified(bool verified) {
  if (state_ != State::verifying) return;  // closed meanwhile (EOF)
  password_check_.reset();
  set_state(command_state());
  act_on(sasl_->finish(verified));
  if (shutdown_after_commit_ && state_ != State::closed) {
    close_with(Reply(421, "4.3.2", settings_.hostname + " Service shutting down"));
  }
}

void ServerSession::on_timeout() {
  if (state_ == State::closed) return;
  close_with(Reply(421, "4.4.2", settings_.hostname + " Error: timeout exceeded"));
}

void ServerSession::on_eof() {
  if (state_ == State::closed) return;
  observer_.on_info("client disconnected", "connection closed");
  tx_.reset();
  pending_check_.reset();
  sasl_.reset();
  password_check_.reset();
  pending_.reset();
  set_state(State::closed);
}

void ServerSession::on_shutdown() {
  if (state_ == State::closed) return;
  if (state_ == State::committing || state_ == State::verifying || state_ == State::waiting_policy) {
    shutdown_after_commit_ = true;  // answer the message (it may be on disk) or the AUTH first
    return;
  }
  close_with(Reply(421, "4.3.2", settings_.hostname + " Service shutting down"));
}

}  // namespace sluice::smtp
