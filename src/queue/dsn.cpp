// queue/dsn.cpp: see dsn.hpp.
//
// Shape of a notice (RFC 6522 §3, RFC 3464 §2):
//   header: Date, From MAILER-DAEMON, To the sender, Subject, Message-ID, References (the
//           original Message-ID, so mail clients thread it), Auto-Submitted, MIME-Version,
//           Content-Type multipart/report; report-type=delivery-status
//   part 1  text/plain: for each recipient what happened, what the server said, what to do
//           (the words come from the knowledge base, diagnose/knowledge.txt)
//   part 2  message/delivery-status: the per-message group, then one group per recipient
//   part 3  message/rfc822 (the whole original) or text/rfc822-headers (its header)
// Under SMTPUTF8 parts 2 and 3 become message/global-delivery-status and message/global or
// message/global-headers (RFC 6533 §6, RFC 6532 §3.7), since addresses and headers may be
// UTF-8 there.
#include "queue/dsn.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>

#include "base/assert.hpp"
#include "diagnose/knowledge_base.hpp"
#include "smtp/received_header.hpp"

namespace sluice::queue {

namespace {

constexpr std::string_view kCrlf = "\r\n";

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int gravity(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return 2;
    case DsnAction::delayed: return 1;
    default: return 0;
  }
}

// The status a recipient's report carries: given, else from the reply, else generic.
std::string status_of(const DsnRecipient& r) {
  if (!r.status.empty()) return r.status;
  std::string code = enhanced_code_of(r.reply);
  if (!code.empty()) return code;
  if (r.reply.size() >= 3 && is_digit(r.reply[0]) && (r.reply[0] == '2' || r.reply[0] == '4' || r.reply[0] == '5'))
    return std::string(1, r.reply[0]) + ".0.0";
  switch (r.action) {
    case DsnAction::failed: return "5.0.0";
    case DsnAction::delayed: return "4.0.0";
    default: return "2.0.0";
  }
}

// "rfc822; bob@example.net", or under RFC 6533 "utf-8; " when the address is not ASCII.
std::string address_field(std::string_view address) {
  return std::string(is_ascii(address) ? "rfc822; " : "utf-8; ") + std::string(address);
}

// ORCPT as stored ("rfc822;bob@example.net") in the field's usual spacing.
std::string orcpt_field(std::string_view orcpt) {
  auto semi = orcpt.find(';');
  if (semi == std::string_view::npos) return "rfc822; " + std::string(orcpt);
  std::string_view type = orcpt.substr(0, semi), addr = orcpt.substr(semi + 1);
  while (!addr.empty() && addr.front() == ' ') addr.remove_prefix(1);
  return std::string(type) + "; " + std::string(addr);
}

// Header field values come from peers (reply text) and senders (addresses): no CR or LF may
// reach the notice's header or report fields, or a peer could inject fields.
std::string one_line(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  return out;
}

std::string date(SystemTime t) { return smtp::rfc5322_date(t); }

struct Words {
  std::string happened;
  std::string todo;
};

// Plain words for a recipient's outcome. Failures and delays are explained by the knowledge
// base (diagnose/), from the remote's reply when there is one, else from the status alone;
// the success actions need no diagnosis.
Words words_for(const std::string& status, std::string_view reply, DsnAction action) {
  if (action == DsnAction::delivered)
    return {"It was delivered.", "Nothing: this report is only the confirmation you asked for."};
  if (action == DsnAction::relayed)
    return {"It was handed on to a server that does not send delivery reports; no further report will follow.",
            "Nothing, unless you hear from the recipient that it did not arrive."};
  if (action == DsnAction::expanded)
    return {"It was delivered to a list or alias, which passes it on to its members.", "Nothing."};

  // The status decides when the queue set one of its own (expiry's 4.4.7 over the last
  // reply); otherwise the remote's words say more than their code.
  const bool own_status = !status.empty() && status != enhanced_code_of(reply);
  const diagnose::Explanation e = diagnose::explain(reply.empty() || own_status ? std::string_view(status) : reply);
  Words w;
  if (e.category == diagnose::Category::unknown || e.category == diagnose::Category::success) {
    w = {"The delivery did not succeed.", "Tell your mail administrator; the technical report below has the details."};
  } else {
    w = {e.meaning, e.todo};
  }
  const bool transient = !status.empty() && status[0] == '4' && action == DsnAction::delayed;
  if (transient)
    w.todo = "Nothing for now: the mail system keeps trying and will tell you if it gives up.";
  return w;
}

// The header section of a message: up to and including the empty line, or all of it when
// there is no body.
std::string_view header_of(std::string_view content) {
  auto end = content.find("\r\n\r\n");
  if (end == std::string_view::npos) return content;
  return content.substr(0, end + 4);
}

std::string pick_boundary(std::string_view queue_id, std::string_view content) {
  std::string b = "=_sluice_dsn_" + std::string(queue_id);
  for (int n = 0; content.find(b) != std::string_view::npos && n < 1000; ++n) b += "_" + std::to_string(n);
  return b;
}

std::string plural(size_t n, std::string_view one) {
  return std::to_string(n) + " " + std::string(one) + (n == 1 ? "" : "s");
}

}  // namespace

const char* to_string(DsnAction action) {
  switch (action) {
    case DsnAction::failed: return "failed";
    case DsnAction::delayed: return "delayed";
    case DsnAction::delivered: return "delivered";
    case DsnAction::relayed: return "relayed";
    case DsnAction::expanded: return "expanded";
  }
  return "failed";
}

bool notify_wants(const smtp::DsnNotify& notify, DsnAction action) {
  if (!notify.specified) return action == DsnAction::failed || action == DsnAction::delayed;
  if (notify.never) return false;
  switch (action) {
    case DsnAction::failed: return notify.failure;
    case DsnAction::delayed: return notify.delay;
    default: return notify.success;
  }
}

std::string enhanced_code_of(std::string_view reply) {
  // "550 5.1.1 ..." or "550-5.1.1 ...": class digit, '.', 1-3 digits, '.', 1-3 digits.
  if (reply.size() < 4 || !is_digit(reply[0]) || !is_digit(reply[1]) || !is_digit(reply[2]) ||
      (reply[3] != ' ' && reply[3] != '-'))
    return "";
  std::string_view rest = reply.substr(4);
  size_t i = 0;
  if (rest.empty() || (rest[0] != '2' && rest[0] != '4' && rest[0] != '5')) return "";
  i = 1;
  for (int part = 0; part < 2; ++part) {
    if (i >= rest.size() || rest[i] != '.') return "";
    ++i;
    size_t start = i;
    while (i < rest.size() && is_digit(rest[i]) && i - start < 3) ++i;
    if (i == start) return "";
  }
  if (i < rest.size() && rest[i] != ' ') return "";
  return std::string(rest.substr(0, i));
}

std::optional<smtp::Message> build_dsn(const DsnRequest& req) {
  SLUICE_ASSERT(req.original != nullptr && req.content != nullptr);
  const smtp::Envelope& orig = *req.original;
  if (orig.mail_from.empty()) return std::nullopt;  // never a notice about a notice

  std::vector<const DsnRecipient*> rcpts;
  for (const DsnRecipient& r : req.recipients) {
    if (r.index >= orig.recipients.size()) continue;
    if (notify_wants(orig.recipients[r.index].notify, r.action)) rcpts.push_back(&r);
  }
  if (rcpts.empty()) return std::nullopt;

  DsnAction gravest = rcpts.front()->action;
  size_t n_failed = 0, n_delayed = 0, n_success = 0;
  for (const DsnRecipient* r : rcpts) {
    if (gravity(r->action) > gravity(gravest)) gravest = r->action;
    if (r->action == DsnAction::failed) ++n_failed;
    else if (r->action == DsnAction::delayed) ++n_delayed;
    else ++n_success;
  }
  const bool global = orig.smtputf8;
  const std::string_view content = *req.content;
  // RET (RFC 3461 §4.3) speaks of failure notices; others carry the header only, as is
  // customary. A BINARYMIME original cannot travel inside an 8-bit notice at all.
  const bool full = gravest == DsnAction::failed && orig.ret != smtp::DsnRet::headers &&
                    orig.body != smtp::BodyType::binary_mime && content.size() <= kMaxReturnedContent;
  const bool too_big_to_return = gravest == DsnAction::failed && orig.ret != smtp::DsnRet::headers &&
                                 !full;
  const std::string boundary = pick_boundary(req.queue_id, content);

  // Part 1: plain words.
  std::string human;
  auto line = [&human](std::string_view s) {
    human.append(s);
    human.append(kCrlf);
  };
  line("This is the mail system at " + req.reporting_mta + ", reporting on a message you sent.");
  line("");
  if (n_failed > 0)
    line("Your message could not be delivered to " + plural(n_failed, "recipient") +
         ". The mail system has given up on " + (n_failed == 1 ? "it" : "them") + ".");
  if (n_delayed > 0) {
    std::string until;
    for (const DsnRecipient* r : rcpts)
      if (r->action == DsnAction::delayed && r->will_retry_until) until = date(*r->will_retry_until);
    line("Your message has not been delivered yet to " + plural(n_delayed, "recipient") +
         ". The mail system keeps trying" + (until.empty() ? "" : " until " + until) +
         "; you do not need to send it again.");
  }
  if (n_success > 0)
    line("This is the delivery report you asked for, about " + plural(n_success, "recipient") + ".");
  for (const DsnRecipient* r : rcpts) {
    const std::string status = status_of(*r);
    Words w = words_for(status, r->reply, r->action);
    line("");
    line("<" + one_line(orig.recipients[r->index].address) + ">:");
    line("  What happened: " + (r->explanation.empty() ? w.happened : one_line(r->explanation)));
    if (!r->reply.empty())
      line("  " + (r->remote_mta.empty() ? std::string("The mail system") : "The server " + one_line(r->remote_mta)) +
           " said: " + one_line(r->reply));
    line("  What to do: " + w.todo);
  }
  line("");
  if (too_big_to_return)
    line("The message was too large to return whole; its header is attached below the technical report.");
  else
    line(std::string("The technical report and ") + (full ? "your message" : "your message's header") +
         " are attached.");

  // Part 2: the machine-readable report (RFC 3464 §2.2, §2.3).
  std::string report;
  auto field = [&report](std::string_view name, std::string_view value) {
    report.append(name);
    report.append(": ");
    report.append(value);
    report.append(kCrlf);
  };
  field("Reporting-MTA", "dns; " + req.reporting_mta);
  field("X-Sluice-Queue-ID", one_line(orig.queue_id));
  field("X-Sluice-Sender", address_field(one_line(orig.mail_from)));
  if (!orig.envid.empty()) field("Original-Envelope-Id", one_line(orig.envid));
  if (orig.received_at_us > 0)
    field("Arrival-Date", date(SystemTime(std::chrono::microseconds(orig.received_at_us))));
  for (const DsnRecipient* r : rcpts) {
    const smtp::Recipient& rc = orig.recipients[r->index];
    report.append(kCrlf);
    field("Final-Recipient", address_field(one_line(rc.address)));
    if (!rc.orcpt.empty()) field("Original-Recipient", orcpt_field(one_line(rc.orcpt)));
    field("Action", to_string(r->action));
    field("Status", status_of(*r));
    if (!r->remote_mta.empty()) field("Remote-MTA", "dns; " + one_line(r->remote_mta));
    if (!r->reply.empty()) {
      const bool smtp_reply = r->reply.size() >= 3 && is_digit(r->reply[0]) && is_digit(r->reply[1]) &&
                              is_digit(r->reply[2]);
      field("Diagnostic-Code", std::string(smtp_reply ? "smtp; " : "x-sluice; ") + one_line(r->reply));
    }
    if (r->last_attempt != SystemTime{}) field("Last-Attempt-Date", date(r->last_attempt));
    if (r->action == DsnAction::delayed && r->will_retry_until)
      field("Will-Retry-Until", date(*r->will_retry_until));
  }

  // Part 3: the original, or its header.
  const std::string_view returned = full ? content : header_of(content);
  const std::string returned_type = full ? (global ? "message/global" : "message/rfc822")
                                         : (global ? "message/global-headers" : "text/rfc822-headers");

  const char* subject = gravest == DsnAction::failed    ? "Undelivered Mail Returned to Sender"
                        : gravest == DsnAction::delayed ? "Delayed Mail (still being retried)"
                                                        : "Successful Mail Delivery Report";
  std::string out;
  auto header = [&out](std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append(kCrlf);
  };
  header("Date", date(req.now));
  header("From", "Mail Delivery System <MAILER-DAEMON@" + req.reporting_mta + ">");
  header("To", "<" + one_line(orig.mail_from) + ">");
  header("Subject", subject);
  header("Message-ID", "<" + req.queue_id + "@" + req.reporting_mta + ">");
  if (!orig.message_id.empty()) header("References", one_line(orig.message_id));
  header("Auto-Submitted", "auto-replied");
  header("MIME-Version", "1.0");
  header("Content-Type", std::string("multipart/report; report-type=delivery-status;") + "\r\n\tboundary=\"" +
                             boundary + "\"");
  out.append(kCrlf);
  out.append("This is a MIME-encapsulated message.\r\n\r\n");

  out.append("--" + boundary + "\r\n");
  out.append("Content-Description: Notification\r\n");
  out.append("Content-Type: text/plain; charset=utf-8\r\n");
  out.append(std::string("Content-Transfer-Encoding: ") + (is_ascii(human) ? "7bit" : "8bit") + "\r\n\r\n");
  out.append(human);
  out.append(kCrlf);

  out.append("--" + boundary + "\r\n");
  out.append("Content-Description: Delivery report\r\n");
  out.append(std::string("Content-Type: ") +
             (global ? "message/global-delivery-status" : "message/delivery-status") + "\r\n");
  if (!is_ascii(report)) out.append("Content-Transfer-Encoding: 8bit\r\n");
  out.append(kCrlf);
  out.append(report);
  out.append(kCrlf);

  out.append("--" + boundary + "\r\n");
  out.append(std::string("Content-Description: ") + (full ? "Undelivered Message" : "Message Headers") + "\r\n");
  out.append("Content-Type: " + returned_type + "\r\n");
  if (!is_ascii(returned)) out.append("Content-Transfer-Encoding: 8bit\r\n");
  out.append(kCrlf);
  out.append(returned);
  if (returned.size() < 2 || returned.substr(returned.size() - 2) != kCrlf) out.append(kCrlf);
  out.append("\r\n--" + boundary + "--\r\n");

  smtp::Message m;
  smtp::Envelope& e = m.envelope;
  e.queue_id = req.queue_id;
  e.mail_from = "";  // RFC 3461 §6.1, RFC 5321 §4.5.5: notices go out with the null reverse path
  e.recipients.push_back(smtp::Recipient{orig.mail_from, {}, ""});
  e.body = is_ascii(out) ? smtp::BodyType::seven_bit : smtp::BodyType::eight_bit_mime;
  e.smtputf8 = orig.smtputf8 && !is_ascii(orig.mail_from);
  e.protocol = "DSN";
  e.message_id = "<" + req.queue_id + "@" + req.reporting_mta + ">";
  e.received_at_us =
      std::chrono::duration_cast<std::chrono::microseconds>(req.now.time_since_epoch()).count();
  m.content = std::move(out);
  return m;
}

}  // namespace sluice::queue
