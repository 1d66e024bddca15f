// smtp/client_session.cpp: the SMTP client session state machine (see client_session.hpp for
// what it owns and the choices it makes).
// RFC 5321 §4.1, §4.2, §4.3.2, §4.5.2; RFC 2920; RFC 1870; RFC 6152; RFC 3030; RFC 6531;
// RFC 3461 §4; RFC 3207; RFC 4954; RFC 4616; RFC 2034.
#include "smtp/client_session.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <string>

#include "base/assert.hpp"
#include "smtp/esmtp_params.hpp"

namespace sluice::smtp {
namespace {

// RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; real servers exceed it now and then,
// so we are lenient, but bounded: a peer cannot make us buffer without end.
constexpr size_t kMaxReplyLine = 4096;
constexpr size_t kMaxReplyLines = 200;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) |
                       (static_cast<uint8_t>(in[i + 1]) << 8) | static_cast<uint8_t>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t v = static_cast<uint8_t>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const uint32_t v = (static_cast<uint8_t>(in[i]) << 16) | (static_cast<uint8_t>(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The header section: up to the first empty line (or all of it when there is no body).
std::string_view header_section(std::string_view content) {
  if (content.rfind("\r\n", 0) == 0) return {};
  const size_t end = content.find("\r\n\r\n");
  return end == std::string_view::npos ? content : content.substr(0, end + 2);
}

// An RFC 3463 code at the start of a reply line: class.subject.detail, class matching the
// reply's first digit (RFC 2034 §4). Returns its length, 0 if there is none.
size_t enhanced_code_length(std::string_view text, char reply_class) {
  if (text.size() < 5 || text[0] != reply_class || text[1] != '.') return 0;
  size_t pos = 2;
  for (int part = 0; part < 2; ++part) {
    const size_t start = pos;
    while (pos < text.size() && pos - start < 4 && std::isdigit(static_cast<unsigned char>(text[pos]))) {
      ++pos;
    }
    if (pos == start || pos - start > 3) return 0;
    if (part == 0) {
      if (pos >= text.size() || text[pos] != '.') return 0;
      ++pos;
    }
  }
  if (pos < text.size() && text[pos] != ' ') return 0;
  return pos;
}

// For our own replies that quote a peer's bytes: printable ASCII, bounded.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 32 && u < 127) ? c : '?';
  }
  if (s.size() > 120) out += "...";
  return out;
}

}  // namespace

ClientSession::ClientSession(ClientSettings settings, ClientObserver* observer)
    : settings_(std::move(settings)), observer_(observer) {}

void ClientSession::set_state(State s) { state_ = s; }

void ClientSession::feed(std::string_view bytes) {
  // Nothing the server says between its 220 to STARTTLS and the handshake may be trusted.
  if (state_ == State::closed || state_ == State::handshake) return;
  input_.append(bytes);
}

ClientAction ClientSession::poll() {
  Reply reply;
  while (state_ != State::closed && state_ != State::handshake && next_reply(reply)) {
    handle_reply(reply);
  }
  if (input_pos_ == input_.size()) {
    input_.clear();
    input_pos_ = 0;
  } else if (input_pos_ > 4096) {
    input_.erase(0, input_pos_);
    input_pos_ = 0;
  }
  if (!output_.empty()) return ClientAction::send;
  if (state_ == State::handshake) return ClientAction::start_tls;
  if (results_ready_) return ClientAction::message_done;
  if (state_ == State::closed) return ClientAction::close;
  return ClientAction::need_input;
}

std::string ClientSession::take_output() { return std::exchange(output_, std::string()); }

bool ClientSession::ready_for_message() const { return state_ == State::ready && !results_ready_; }

std::vector<RecipientResult> ClientSession::take_results() {
  results_ready_ = false;
  return std::exchange(results_, {});
}

std::string_view ClientSession::stage() const {
  switch (state_) {
    case State::greeting: return "greeting";
    case State::ehlo: return "EHLO";
    case State::helo: return "HELO";
    case State::starttls:
    case State::handshake: return "STARTTLS";
    case State::auth: return "AUTH";
    case State::transaction:
      if (!tx_ || tx_->pending.empty()) return "";
      switch (tx_->pending.front()) {
        case Expect::mail: return "MAIL FROM";
        case Expect::rcpt: return "RCPT TO";
        case Expect::data: return "DATA";
        case Expect::end_of_data:
        case Expect::dot_ignored: return "end of DATA";
      }
      return "";
    case State::rset: return "RSET";
    case State::quitting: return "QUIT";
    case State::ready:
    case State::closed: return "";
  }
  return "";
}

std::chrono::seconds ClientSession::current_timeout() const {
  const std::string_view s = stage();
  if (s == "greeting") return settings_.greeting_timeout;
  if (s == "DATA") return settings_.data_init_timeout;
  if (s == "end of DATA") return settings_.data_end_timeout;
  return settings_.command_timeout;
}

std::string ClientSession::peer_name() const {
  return peer_.name.empty() ? std::string("the server") : peer_.name;
}

void ClientSession::send_line(std::string line, std::string_view masked) {
  if (observer_) observer_->on_sent(masked.empty() ? std::string_view(line) : masked);
  output_ += line;
  output_ += "\r\n";
}

bool ClientSession::next_reply(Reply& reply) {
  std::vector<std::string> texts;
  char code[3] = {0, 0, 0};
  size_t pos = input_pos_;
  auto malformed = [&](std::string_view line) {
    const std::string stage_name(stage());
    fail_session(Reply(421, "4.5.0", "Malformed reply from " + peer_name() + ": \"" + printable(line) + "\""),
                 stage_name.empty() ? "idle" : stage_name, false);
    return false;
  };
  while (true) {
    const size_t nl = input_.find('\n', pos);
    if (nl == std::string::npos) {
      if (input_.size() - pos > kMaxReplyLine) return malformed(std::string_view(input_).substr(pos));
      return false;
    }
    std::string_view line(input_.data() + pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // bare LF tolerated
    pos = nl + 1;
    if (line.size() > kMaxReplyLine) return malformed(line);
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' ||
        !std::isdigit(static_cast<unsigned char>(line[1])) ||
        !std::isdigit(static_cast<unsigned char>(line[2])) ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      return malformed(line);
    }
    if (texts.empty()) {
      code[0] = line[0], code[1] = line[1], code[2] = line[2];
    } else if (line[0] != code[0] || line[1] != code[1] || line[2] != code[2]) {
      return malformed(line);  // RFC 5321 §4.2.1: every line of a reply has the same code
    }
    texts.emplace_back(line.size() > 4 ? line.substr(4) : std::string_view());
    if (line.size() == 3 || line[3] == ' ') break;
    if (texts.size() >= kMaxReplyLines) return malformed(line);
  }
  input_pos_ = pos;

  // The enhanced code of the first line, removed from every line that repeats it, so that
  // Reply::text() and wire() give it once per line as the peer did.
  std::string enhanced;
  if (const size_t n = enhanced_code_length(texts[0], code[0]); n > 0) {
    enhanced = texts[0].substr(0, n);
    for (std::string& t : texts) {
      if (t.compare(0, n, enhanced) == 0 && (t.size() == n || t[n] == ' ')) {
        t.erase(0, t.size() == n ? n : n + 1);
      }
    }
  }
  const int number = (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
  reply = Reply(number, std::move(enhanced), std::move(texts));
  if (observer_) observer_->on_received(reply);
  return true;
}

void ClientSession::handle_reply(const Reply& r) {
  switch (state_) {
    case State::greeting: return handle_greeting(r);
    case State::ehlo: return handle_ehlo(r, true);
    case State::helo: return handle_ehlo(r, false);
    case State::starttls: return handle_starttls(r);
    case State::auth: return handle_auth(r);
    case State::transaction: return handle_transaction(r);
    case State::rset: return handle_rset(r);
    case State::quitting: return set_state(State::closed);
    case State::ready:
      // Nothing was asked. A 421 is the server going away (RFC 5321 §3.8); anything else
      // means we lost track of the dialog, so this connection is no longer trusted.
      if (r.code() == 421) return fail_session(r, "idle", false);
      return fail_session(Reply(421, "4.5.0", "Unexpected reply from " + peer_name() + ": " + r.text()),
                          "idle", true);
    case State::handshake:
    case State::closed: return;
  }
}

void ClientSession::handle_greeting(const Reply& r) {
  std::string text;
  for (const std::string& l : r.lines()) text += (text.empty() ? "" : " ") + l;
  peer_.greeting = r.enhanced().empty() ? text : r.enhanced() + " " + text;
  peer_.name = r.lines()[0].substr(0, r.lines()[0].find(' '));
  if (r.code() != 220) {
    // RFC 5321 §3.1: after a 554 greeting the client should send QUIT; after 421 the server
    // is gone already.
    return fail_session(r, "greeting", r.code() != 421);
  }
  send_ehlo();
}

void ClientSession::send_ehlo() {
  send_line("EHLO " + settings_.helo_name);
  set_state(State::ehlo);
}

void ClientSession::handle_ehlo(const Reply& r, bool extended) {
  if (r.code() == 250) {
    if (extended) {
      parse_ehlo(r);
    } else {
      const bool tls = peer_.tls;
      peer_ = PeerInfo{peer_.greeting, peer_.name, {}, 0};
      peer_.tls = tls;
    }
    return after_ehlo();
  }
  if (extended && r.permanent()) {
    // RFC 5321 §3.2: a server that does not know EHLO answers 5xx; HELO is the fallback.
    send_line("HELO " + settings_.helo_name);
    return set_state(State::helo);
  }
  fail_session(r, extended ? "EHLO" : "HELO", r.code() != 421);
}

void ClientSession::parse_ehlo(const Reply& r) {
  const bool tls = peer_.tls;
  peer_ = PeerInfo{peer_.greeting, peer_.name, {}, 0};
  peer_.tls = tls;
  // The first line is the server's name and greeting; the keywords follow (RFC 5321 §4.1.1.1).
  for (size_t i = 1; i < r.lines().size(); ++i) {
    const std::string& line = r.lines()[i];
    const size_t sp = line.find(' ');
    std::string keyword = upper(line.substr(0, sp));
    std::string params = sp == std::string::npos ? std::string() : line.substr(sp + 1);
    // "AUTH=LOGIN PLAIN": the pre-standard form some servers still send.
    if (keyword.rfind("AUTH=", 0) == 0) {
      params = keyword.substr(5) + " " + params;
      keyword = "AUTH";
    }
    if (keyword.empty()) continue;
    peer_.extensions.insert(keyword);
    if (keyword == "SIZE") {
      uint64_t v = 0;
      bool digits = !params.empty();
      for (char c : params) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || v > UINT64_MAX / 10 - 9) {
          digits = false;
          break;
        }
        v = v * 10 + static_cast<uint64_t>(c - '0');
      }
      peer_.size_limit = digits ? v : 0;
    } else if (keyword == "AUTH") {
      size_t pos = 0;
      while (pos < params.size()) {
        const size_t end = params.find(' ', pos);
        std::string mech = upper(params.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
        if (!mech.empty() &&
            std::find(peer_.auth_mechanisms.begin(), peer_.auth_mechanisms.end(), mech) ==
                peer_.auth_mechanisms.end()) {
          peer_.auth_mechanisms.push_back(std::move(mech));
        }
        if (end == std::string::npos) break;
        pos = end + 1;
      }
    } else if (keyword == "PIPELINING") {
      peer_.pipelining = true;
    } else if (keyword == "STARTTLS") {
      peer_.starttls = true;
    } else if (keyword == "8BITMIME") {
      peer_.eightbitmime = true;
    } else if (keyword == "SMTPUTF8") {
      peer_.smtputf8 = true;
    } else if (keyword == "DSN") {
      peer_.dsn = true;
    } else if (keyword == "CHUNKING") {
      peer_.chunking = true;
    } else if (keyword == "BINARYMIME") {
      peer_.binarymime = true;
    } else if (keyword == "ENHANCEDSTATUSCODES") {
      peer_.enhancedstatuscodes = true;
    }
  }
}

void ClientSession::after_ehlo() {
  if (!peer_.tls && !starttls_refused_ && (settings_.try_starttls || settings_.require_tls) &&
      peer_.starttls) {
    send_line("STARTTLS");
    return set_state(State::starttls);
  }
  if (settings_.require_tls && !peer_.tls) {
    // X.7.4 "security features not supported"; 421 because another host may offer it.
    return fail_session(Reply(421, "4.7.4", "TLS is required, but was not offered by " + peer_name()),
                        "STARTTLS", true);
  }
  if (settings_.auth) return start_auth();
  set_state(State::ready);
}

void ClientSession::handle_starttls(const Reply& r) {
  if (r.code() == 220) {
    // What was read past the 220 came in plaintext: drop it (see the header).
    input_.erase(0, input_pos_);
    input_pos_ = 0;
    if (!input_.empty() && observer_) {
      observer_->on_info(std::to_string(input_.size()) + " bytes after the 220 discarded", "STARTTLS");
    }
    input_.clear();
    return set_state(State::handshake);
  }
  if (r.code() == 421 || settings_.require_tls) return fail_session(r, "STARTTLS", r.code() != 421);
  // Opportunistic (RFC 7435): go on in plaintext, without asking again on this connection.
  starttls_refused_ = true;
  after_ehlo();
}

void ClientSession::on_tls_started() {
  SLUICE_ASSERT(state_ == State::handshake);
  peer_.tls = true;
  input_.clear();
  input_pos_ = 0;
  // RFC 3207 §4.2: forget what the server said before TLS and ask again.
  send_ehlo();
}

void ClientSession::on_tls_failed(std::string why) {
  if (state_ == State::closed) return;
  // X.7.5 "cryptographic failure"; the connection is in an unknown state, no QUIT.
  fail_session(Reply(421, "4.7.5", "TLS handshake with " + peer_name() + " failed: " + why), "STARTTLS", false);
}

void ClientSession::start_auth() {
  if (!peer_.tls && !settings_.allow_plaintext_auth) {
    return fail_session(Reply(421, "4.7.0", "Not sending credentials to " + peer_name() +
                                                " without TLS (allow_plaintext_auth is off)"),
                        "AUTH", true);
  }
  const auto has = [&](std::string_view m) {
    return std::find(peer_.auth_mechanisms.begin(), peer_.auth_mechanisms.end(), m) !=
           peer_.auth_mechanisms.end();
  };
  const auto& [user, password] = *settings_.auth;
  auth_step_ = 0;
  if (has("PLAIN")) {
    // RFC 4616: authzid (empty) NUL authcid NUL passwd, as an initial response (RFC 4954 §4).
    auth_mechanism_ = "PLAIN";
    send_line("AUTH PLAIN " + base64(std::string(1, '\0') + user + '\0' + password), "AUTH PLAIN ****");
  } else if (has("LOGIN")) {
    auth_mechanism_ = "LOGIN";
    send_line("AUTH LOGIN");
  } else {
    return fail_session(
        Reply(421, "4.7.0",
              peer_.auth_mechanisms.empty()
                  ? peer_name() + " does not offer AUTH; credentials are configured for it"
                  : peer_name() + " offers no AUTH mechanism we support (PLAIN, LOGIN)"),
        "AUTH", true);
  }
  set_state(State::auth);
}

void ClientSession::handle_auth(const Reply& r) {
  if (r.code() == 235) {
    if (observer_) observer_->on_info("authenticated as " + settings_.auth->first, "AUTH");
    return set_state(State::ready);
  }
  if (r.code() == 334) {
    const auto& [user, password] = *settings_.auth;
    ++auth_step_;
    if (auth_mechanism_ == "PLAIN" && auth_step_ == 1) {
      // The server ignored the initial response and asks for it (RFC 4954 §4).
      return send_line(base64(std::string(1, '\0') + user + '\0' + password), "****");
    }
    if (auth_mechanism_ == "LOGIN" && auth_step_ == 1) return send_line(base64(user), "****");
    if (auth_mechanism_ == "LOGIN" && auth_step_ == 2) return send_line(base64(password), "****");
    // An exchange we do not know how to continue; the dialog is mid-AUTH, so no QUIT.
    return fail_session(Reply(421, "4.7.0", "Unexpected AUTH challenge from " + peer_name() + ": " + r.text()),
                        "AUTH", false);
  }
  fail_session(r, "AUTH", r.code() != 421);
}

std::optional<Reply> ClientSession::precheck(const OutboundMessage& m, Transaction& tx) const {
  const Envelope& e = *m.envelope;
  const std::string& content = *m.content;
  if (peer_.size_limit > 0 && content.size() > peer_.size_limit) {
    // RFC 1870 §6.1: do not send what the server said it will not take.
    return Reply(552, "5.3.4", "Message size exceeds fixed limit of " + peer_name() + " (" +
                                   std::to_string(peer_.size_limit) + " bytes)");
  }
  if (e.smtputf8 && !peer_.smtputf8) {
    bool needed = !is_ascii(e.mail_from) || !is_ascii(header_section(content));
    for (size_t i : m.recipients) needed = needed || !is_ascii(e.recipients[i].address);
    if (needed) {
      // RFC 6531 §3.2: no SMTPUTF8 at the server, no downgrade here: a permanent failure.
      return Reply(553, "5.6.7", "Message needs SMTPUTF8 (non-ASCII addresses or header) but " +
                                     peer_name() + " does not support it");
    }
  }
  if (e.body == BodyType::binary_mime && peer_.chunking && peer_.binarymime) {
    tx.use_bdat = true;
  } else if (e.body != BodyType::seven_bit) {
    if (peer_.eightbitmime) {
      tx.body_8bit = true;
    } else if (!is_ascii(content)) {
      // RFC 6152 §3: 8-bit content may go only to a server that offers 8BITMIME; we do not
      // convert to quoted-printable.
      return Reply(554, "5.6.3", "Conversion required but not supported: the message has 8-bit content and " +
                                     peer_name() + " does not offer 8BITMIME");
    }
  }
  return std::nullopt;
}

std::string ClientSession::mail_command(const OutboundMessage& m, const Transaction& tx) const {
  const Envelope& e = *m.envelope;
  std::string cmd = "MAIL FROM:<" + e.mail_from + ">";
  if (peer_.extensions.count("SIZE")) cmd += " SIZE=" + std::to_string(m.content->size());
  if (tx.use_bdat) {
    cmd += " BODY=BINARYMIME";
  } else if (tx.body_8bit) {
    cmd += " BODY=8BITMIME";
  }
  if (e.smtputf8 && peer_.smtputf8) cmd += " SMTPUTF8";
  if (peer_.dsn) {
    if (e.ret == DsnRet::full) cmd += " RET=FULL";
    if (e.ret == DsnRet::headers) cmd += " RET=HDRS";
    if (!e.envid.empty()) cmd += " ENVID=" + xtext_encode(e.envid);
  }
  return cmd;
}

std::string ClientSession::rcpt_command(const Recipient& r) const {
  std::string cmd = "RCPT TO:<" + r.address + ">";
  if (!peer_.dsn) return cmd;
  if (r.notify.specified) {
    if (r.notify.never) {
      cmd += " NOTIFY=NEVER";
    } else {
      std::string list;
      if (r.notify.success) list += ",SUCCESS";
      if (r.notify.failure) list += ",FAILURE";
      if (r.notify.delay) list += ",DELAY";
      if (!list.empty()) cmd += " NOTIFY=" + list.substr(1);
    }
  }
  if (!r.orcpt.empty()) {
    // RFC 3461 §4.2: addr-type ";" xtext; the type is atom-like and stays as it is.
    const size_t semi = r.orcpt.find(';');
    if (semi == std::string::npos) {
      cmd += " ORCPT=rfc822;" + xtext_encode(r.orcpt);
    } else {
      cmd += " ORCPT=" + r.orcpt.substr(0, semi) + ";" + xtext_encode(r.orcpt.substr(semi + 1));
    }
  }
  return cmd;
}

ClientSession::Transaction::Transaction() = default;

void ClientSession::send_message(OutboundMessage m) {
  SLUICE_ASSERT(ready_for_message());
  SLUICE_ASSERT(m.envelope != nullptr && m.content != nullptr);
  for (size_t i : m.recipients) SLUICE_ASSERT(i < m.envelope->recipients.size());
  tx_.emplace();
  Transaction& tx = *tx_;
  tx.message = std::move(m);
  tx.results.resize(tx.message.recipients.size());
  if (tx.message.recipients.empty()) return finish_transaction(false);
  if (std::optional<Reply> refusal = precheck(tx.message, tx)) {
    if (observer_) observer_->on_info(refusal->text(), "message not sent");
    fill_results(*refusal, "MAIL FROM");
    return finish_transaction(false);
  }
  send_line(mail_command(tx.message, tx));
  tx.pending.push_back(Expect::mail);
  if (peer_.pipelining) {
    // RFC 2920 §3.1: MAIL, every RCPT and DATA in one group; BDAT waits for the RCPT replies
    // so that no content is sent when every recipient was refused.
    for (size_t i : tx.message.recipients) {
      send_line(rcpt_command(tx.message.envelope->recipients[i]));
      tx.pending.push_back(Expect::rcpt);
    }
    tx.next_rcpt_to_send = tx.message.recipients.size();
    if (!tx.use_bdat) {
      send_line("DATA");
      tx.pending.push_back(Expect::data);
    }
  }
  set_state(State::transaction);
}

void ClientSession::send_next_rcpt() {
  Transaction& tx = *tx_;
  const size_t i = tx.message.recipients[tx.next_rcpt_to_send++];
  send_line(rcpt_command(tx.message.envelope->recipients[i]));
  tx.pending.push_back(Expect::rcpt);
}

void ClientSession::handle_transaction(const Reply& r) {
  Transaction& tx = *tx_;
  if (tx.pending.empty()) {
    return fail_session(Reply(421, "4.5.0", "Unexpected reply from " + peer_name() + ": " + r.text()),
                        "idle", true);
  }
  const Expect expect = tx.pending.front();
  const std::string stage_name(stage());
  tx.pending.erase(tx.pending.begin());
  if (r.code() == 421) return fail_session(r, stage_name, false);  // RFC 5321 §3.8
  const bool pipelined = peer_.pipelining;
  const size_t total = tx.message.recipients.size();

  // After the last RCPT reply, without a pipelined DATA: DATA/BDAT, or give up (RSET).
  auto after_rcpts = [&] {
    if (tx.mail_ok && tx.accepted > 0) {
      if (tx.use_bdat) return send_content();
      send_line("DATA");
      tx.pending.push_back(Expect::data);
      return;
    }
    finish_transaction(tx.mail_ok);
  };

  switch (expect) {
    case Expect::mail:
      if (r.positive()) {
        tx.mail_ok = true;
        if (!pipelined) send_next_rcpt();
        return;
      }
      fill_results(r, "MAIL FROM");
      // Pipelined: the RCPT and DATA replies (503) are still to come; read them first.
      if (!pipelined) finish_transaction(false);
      return;
    case Expect::rcpt: {
      const size_t pos = tx.next_rcpt_reply++;
      if (tx.mail_ok) {
        if (r.positive()) {
          ++tx.accepted;
        } else {
          tx.results[pos] = RecipientResult{tx.message.recipients[pos], r, "RCPT TO"};
        }
      }
      if (tx.next_rcpt_reply < total) {
        if (!pipelined) send_next_rcpt();
        return;
      }
      if (!pipelined || tx.use_bdat) after_rcpts();
      return;
    }
    case Expect::data:
      if (r.code() == 354) {
        if (tx.mail_ok && tx.accepted > 0) return send_content();
        // RFC 2920 §3.1: a server that says 354 with no valid recipient gets an empty message.
        output_ += ".\r\n";
        tx.pending.push_back(Expect::dot_ignored);
        return;
      }
      if (tx.mail_ok && tx.accepted > 0) fill_results(r, "DATA");
      return finish_transaction(tx.mail_ok);
    case Expect::dot_ignored:
      return finish_transaction(false);
    case Expect::end_of_data:
      fill_results(r, "end of DATA");
      // RFC 3030 §4.2: after a refused BDAT the transaction is left to RSET; after DATA's
      // final reply it is over either way (RFC 5321 §4.1.1.4).
      return finish_transaction(tx.use_bdat && !r.positive());
  }
}

void ClientSession::send_content() {
  Transaction& tx = *tx_;
  const std::string& content = *tx.message.content;
  if (tx.use_bdat) {
    // RFC 3030 §2: the octets as they are, counted; no dot-stuffing, no line-end changes.
    send_line("BDAT " + std::to_string(content.size()) + " LAST");
    output_ += content;
  } else {
    // RFC 5321 §4.5.2: a line that starts with "." gets another; every line ends in CRLF
    // (a bare CR or LF, which the spool should never hold, becomes CRLF rather than being
    // passed on ambiguously); the content ends with CRLF "." CRLF.
    output_.reserve(output_.size() + content.size() + content.size() / 64 + 5);
    bool line_start = true;
    for (size_t i = 0; i < content.size(); ++i) {
      const char c = content[i];
      if (c == '\r' || c == '\n') {
        output_ += "\r\n";
        if (c == '\r' && i + 1 < content.size() && content[i + 1] == '\n') ++i;
        line_start = true;
        continue;
      }
      if (line_start && c == '.') output_ += '.';
      output_ += c;
      line_start = false;
    }
    if (!line_start) output_ += "\r\n";
    output_ += ".\r\n";
  }
  tx.pending.push_back(Expect::end_of_data);
}

void ClientSession::fill_results(const Reply& r, std::string_view stage_name) {
  if (!tx_) return;
  Transaction& tx = *tx_;
  for (size_t pos = 0; pos < tx.results.size(); ++pos) {
    if (!tx.results[pos]) tx.results[pos] = RecipientResult{tx.message.recipients[pos], r, std::string(stage_name)};
  }
}

void ClientSession::finish_transaction(bool need_rset) {
  Transaction& tx = *tx_;
  results_.clear();
  for (auto& r : tx.results) {
    SLUICE_ASSERT(r.has_value());
    results_.push_back(std::move(*r));
  }
  results_ready_ = true;
  tx_.reset();
  if (need_rset) {
    send_line("RSET");
    return set_state(State::rset);
  }
  set_state(State::ready);
}

void ClientSession::handle_rset(const Reply& r) {
  if (r.positive()) return set_state(State::ready);
  if (r.code() == 421) return fail_session(r, "RSET", false);
  // The session is not back to a clean state: stop here, transiently for what is left.
  fail_session(Reply(421, "4.5.0", peer_name() + " refused RSET: " + r.text()), "RSET", true);
}

void ClientSession::quit() {
  if (state_ == State::closed) return;
  SLUICE_ASSERT(ready_for_message());
  send_line("QUIT");
  set_state(State::quitting);
}

void ClientSession::on_timeout() {
  if (state_ == State::closed) return;
  if (state_ == State::quitting) return set_state(State::closed);
  const std::string stage_name(stage());
  const std::string what = stage_name == "greeting" ? std::string("the greeting")
                           : stage_name.empty()     ? std::string("a reply")
                                                    : "the reply to " + stage_name;
  fail_session(Reply(421, "4.4.2", "Timed out after " + std::to_string(current_timeout().count()) +
                                       "s waiting for " + what + " from " + peer_name()),
               stage_name.empty() ? "idle" : stage_name, false);
}

void ClientSession::on_eof() {
  if (state_ == State::closed) return;
  if (state_ == State::quitting) return set_state(State::closed);
  const std::string stage_name(stage());
  const std::string what = stage_name == "greeting" ? std::string("before the greeting")
                           : stage_name.empty()     ? std::string("while idle")
                                                    : "while waiting for the reply to " + stage_name;
  fail_session(Reply(421, "4.4.2", "Connection closed by " + peer_name() + " " + what),
               stage_name.empty() ? "idle" : stage_name, false);
}

void ClientSession::fail_session(Reply r, std::string_view stage_name, bool send_quit) {
  if (state_ == State::closed) return;
  if (tx_) {
    fill_results(r, stage_name);
    results_.clear();
    for (auto& res : tx_->results) results_.push_back(std::move(*res));
    results_ready_ = true;
    tx_.reset();
  }
  failure_ = RecipientResult{0, std::move(r), std::string(stage_name)};
  if (send_quit) send_line("QUIT");
  set_state(State::closed);
}

}  // namespace sluice::smtp
