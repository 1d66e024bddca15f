// diagnose/knowledge_base.hpp: what an SMTP reply or a local delivery failure means — the
// knowledge base behind `sluice explain`, the advice next to every LastError in the queue
// views, and the plain words in the human part of every DSN.
// Owns: reading the input (reply code, RFC 3463 enhanced status code, text; multi-line
// replies; "host X said: ..." forms), choosing the most specific entry of the knowledge
// data (src/diagnose/knowledge.txt, compiled into the binary), and the human and one-line
// renderings of the result.
// Not: the data itself (knowledge.txt: add knowledge there, not here), classifying a
// failure for the queue (delivery/outcome decides scope and permanence; this only
// explains), acting on it (queue).
// RFC 5321 §4.2 (reply codes and classes), RFC 3463 and the IANA registry of enhanced status
// codes, RFC 7505 (null MX), RFC 7208/6376/7489 (the SPF, DKIM, DMARC failures receivers cite).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/reply.hpp"
#include "base/result.hpp"

namespace sluice::diagnose {

// What kind of problem it is, in the words an administrator sorts by.
enum class Category {
  success,
  invalid_recipient,   // the mailbox does not exist
  bad_domain,          // the domain does not exist or accepts no mail
  mailbox,             // mailbox disabled, moved, full (quota)
  size,                // message too large
  dns,                 // a lookup failed
  network,             // connect refused / timed out / connection lost
  tls,                 // STARTTLS or certificate problems
  credentials,         // SMTP AUTH: our credentials or the client's
  relay,               // relaying denied
  sender_authentication,  // SPF, DKIM, DMARC
  reputation,          // IP or domain reputation, complaints
  blocklist,           // a DNS blocklist listing
  rate_limited,        // throttling, too many messages or recipients
  greylisting,
  policy,              // other local policy of the receiver
  content,             // spam, malware, bad MIME, bare LF
  protocol,            // a command or syntax error between the servers
  remote_error,        // the receiving system's own trouble
  configuration,       // our configuration
  expired,             // the queue gave up
  unknown,
};

// "invalid recipient", "sender authentication", ... (the words shown to people)
const char* to_string(Category c);
// "invalid_recipient", ... (the JSON and knowledge-file spelling)
const char* to_key(Category c);

// Whether trying the same delivery again can succeed.
enum class Retry {
  yes,    // temporary: the queue's retries will likely get it through
  no,     // nothing changes until someone fixes the cause
  maybe,  // depends on what the cause turns out to be
};

const char* to_string(Retry r);  // "yes", "no", "maybe"

struct Explanation {
  std::string input;      // the reply or error as read, on one line
  int code = 0;           // the SMTP reply code; 0 when the input has none (a local error)
  std::string status;     // the RFC 3463 code ("5.7.26"); "" when the input has none
  std::string text;       // the reply text without its code and enhanced code
  std::string rule;       // the knowledge entry that matched ("gmail-unauthenticated")
  std::string provider;   // who said it, when recognisable ("Gmail"); "" otherwise
  Category category = Category::unknown;
  Retry retry = Retry::maybe;
  std::string title;      // one phrase: "Gmail requires SPF or DKIM"
  std::string meaning;    // what it means, in plain words
  std::vector<std::string> causes;  // the likely causes, most likely first
  std::string todo;       // what to do
};

// One entry of the knowledge data, as parsed (exposed for tests and for listing).
struct Entry {
  std::string id;
  std::vector<std::string> codes;     // "550", "5xx"; empty: any
  std::vector<std::string> statuses;  // "5.7.26", "5.7.606-649", "5.7.*", "*.7.26"; empty: any
  std::vector<std::string> texts;     // case-insensitive substrings, any one; empty: any
  std::string provider;
  Category category = Category::unknown;
  std::string retry;  // "yes", "no", "maybe", "by-code"
  std::string title;
  std::string meaning;
  std::vector<std::string> causes;
  std::string todo;
};

class KnowledgeBase {
 public:
  // Parses knowledge data in the format of knowledge.txt; errors name the line.
  static Result<KnowledgeBase> parse(std::string_view data);
  // The data compiled into the binary (parsed once; valid by the unit tests).
  static const KnowledgeBase& builtin();

  Explanation explain(std::string_view reply_or_error) const;
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// The built-in knowledge applied to a reply as given ("550 5.1.1 ...", several lines, a
// "host X said: ..." text, or a local error such as "Connection refused").
Explanation explain(std::string_view reply_or_error);
Explanation explain(const Reply& reply);

// One line for a LastError column or a log: "<category>: <what to do>" (retrying: ...).
std::string one_line_advice(const Reply& reply);
std::string one_line_advice(std::string_view reply_or_error);

// Whether the reply asks the sender to send less for a while — a rate limit or a temporary
// reputation deferral (Gmail 4.7.28, Yahoo TSS04, Microsoft 4.7.5xx, Comcast RL...) — so the
// next hop's queue should slow down (fewer connections, a lower rate, a longer retry) until
// deliveries succeed again. Not for one recipient's own limits (Gmail 4.2.1 "receiving mail
// at a rate"): those say nothing about the whole destination.
bool asks_to_slow_down(const Explanation& e);

// The full human rendering that `sluice explain` prints (ends with a newline).
std::string format_explanation(const Explanation& e);

}  // namespace sluice::diagnose
