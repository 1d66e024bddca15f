// delivery/outcome.cpp: classification of outbound failures (see the header).
// Owns: the stage table (which stage a failure ends: the recipient, the message or the
// connection) and the plain-words table of enhanced status codes used in explanations.
// The table is short on purpose: the codes RFC 3463 defines that a sender meets in practice;
// provider-specific texts belong to diagnose/.
#include "delivery/outcome.hpp"

#include <array>
#include <utility>

#include "routing/ascii.hpp"
#include "routing/target_resolver.hpp"

namespace sluice::delivery {

const char* to_string(Scope s) {
  switch (s) {
    case Scope::recipient: return "recipient";
    case Scope::message: return "message";
    case Scope::connection: return "connection";
    case Scope::queue: return "queue";
  }
  return "unknown";
}

namespace {

enum class Stage { connect, greeting, ehlo, starttls, auth, mail, rcpt, data, end_of_data, other };

Stage parse_stage(std::string_view stage) {
  const std::string s = routing::ascii_lower(routing::trim(stage));
  if (s == "connect") return Stage::connect;
  if (s == "greeting" || s == "banner") return Stage::greeting;
  if (s == "ehlo" || s == "helo" || s == "lhlo") return Stage::ehlo;
  if (s == "starttls" || s == "tls" || s == "tls handshake") return Stage::starttls;
  if (s == "auth") return Stage::auth;
  if (s == "mail from" || s == "mail") return Stage::mail;
  if (s == "rcpt to" || s == "rcpt") return Stage::rcpt;
  if (s == "data") return Stage::data;
  if (s == "end of data" || s == "bdat" || s == ".") return Stage::end_of_data;
  return Stage::other;
}

// What the remote server did, by stage; `refused` picks the failure wording.
std::string stage_words(Stage stage, std::string_view raw, bool refused) {
  if (!refused) {
    switch (stage) {
      case Stage::rcpt: return "The remote server accepted the recipient";
      case Stage::end_of_data: return "The remote server accepted the message";
      default: return "The remote server accepted " + std::string(raw);
    }
  }
  switch (stage) {
    case Stage::connect: return "The connection failed";
    case Stage::greeting: return "The remote server refused the session in its greeting";
    case Stage::ehlo: return "The remote server refused our EHLO/HELO";
    case Stage::starttls: return "TLS with the remote server failed (STARTTLS)";
    case Stage::auth: return "The remote server refused our login (AUTH)";
    case Stage::mail: return "The remote server refused the sender (MAIL FROM)";
    case Stage::rcpt: return "The remote server refused the recipient (RCPT TO)";
    case Stage::data: return "The remote server refused to take the message (DATA)";
    case Stage::end_of_data: return "The remote server rejected the message after receiving it (end of DATA)";
    case Stage::other: break;
  }
  return "The remote server refused " + std::string(raw.empty() ? "our command" : raw);
}

// What happens next, by scope and permanence.
std::string next_step(bool permanent, Scope scope) {
  if (permanent) {
    switch (scope) {
      case Scope::connection:
        return "This is permanent for that host: sluice tries the next host, and bounces the mail if none is left.";
      case Scope::queue:
        return "This is permanent: every message for this destination is returned to its sender.";
      default:
        return "This is permanent: retrying will not help, the sender gets a bounce.";
    }
  }
  switch (scope) {
    case Scope::connection:
      return "This is temporary: sluice tries the next host, then retries the queue later.";
    case Scope::queue:
      return "This is temporary: the whole queue waits for its next retry.";
    default:
      return "This is temporary: sluice retries later.";
  }
}

std::string join(std::string head, const std::string& meaning, bool permanent, Scope scope) {
  if (!meaning.empty()) head += ": " + meaning;
  return head + ". " + next_step(permanent, scope);
}

Outcome make(bool permanent, Scope scope, Reply reply, std::string explanation) {
  Outcome o;
  o.permanent = permanent;
  o.scope = scope;
  o.reply = std::move(reply);
  o.explanation = std::move(explanation);
  return o;
}

// "x.y.z" -> "y.z" (the class digit says only transient or permanent).
std::string subject_detail(const std::string& enhanced) {
  const auto dot = enhanced.find('.');
  if (dot == std::string::npos || dot == 0) return {};
  return enhanced.substr(dot + 1);
}

struct Meaning {
  std::string_view key;
  std::string_view words;
};

// RFC 3463 and the IANA registry, in words a sender understands.
constexpr std::array kEnhancedMeanings{
    Meaning{"1.1", "the mailbox does not exist; check the address for typos"},
    Meaning{"1.2", "the recipient's domain does not exist or has no mail server"},
    Meaning{"1.3", "the recipient address is malformed"},
    Meaning{"1.6", "the mailbox has moved and has no forwarding address"},
    Meaning{"1.7", "the sender address is malformed"},
    Meaning{"1.8", "the sender's domain is not accepted (it may not resolve)"},
    Meaning{"1.10", "the recipient's domain publishes a null MX: it accepts no mail at all"},
    Meaning{"2.0", "the mailbox is unavailable"},
    Meaning{"2.1", "the mailbox is disabled or not accepting mail"},
    Meaning{"2.2", "the mailbox is full"},
    Meaning{"2.3", "the message is larger than this recipient accepts"},
    Meaning{"3.0", "the remote mail system has a problem"},
    Meaning{"3.1", "the remote mail system is out of storage"},
    Meaning{"3.2", "the remote server is not accepting mail at the moment"},
    Meaning{"3.4", "the message is larger than the remote server accepts"},
    Meaning{"3.5", "the remote server is misconfigured"},
    Meaning{"4.0", "delivery failed on the way (network or routing)"},
    Meaning{"4.1", "no answer from the remote host: it refused or ignored the connection"},
    Meaning{"4.2", "the connection broke off during the transaction"},
    Meaning{"4.3", "a DNS lookup failed; the destination's name servers may be down"},
    Meaning{"4.4", "no route to the destination: its mail hosts cannot be found"},
    Meaning{"4.6", "a mail loop was detected (too many hops)"},
    Meaning{"4.7", "the message stayed too long in the queue"},
    Meaning{"5.0", "the remote server did not accept our SMTP commands"},
    Meaning{"5.1", "the remote server did not understand our command"},
    Meaning{"5.2", "the remote server saw a syntax error in our command"},
    Meaning{"5.3", "too many recipients in one transaction"},
    Meaning{"5.4", "the remote server rejected a command argument"},
    Meaning{"6.0", "the remote server cannot handle the message content"},
    Meaning{"6.3", "the message needs a conversion the remote server does not support (8-bit content without 8BITMIME)"},
    Meaning{"6.7", "the address needs SMTPUTF8, which the remote server does not support"},
    Meaning{"7.0", "the remote server refuses it for policy reasons (reputation, blocklist, content)"},
    Meaning{"7.1", "the remote server does not allow this delivery (relay denied, blocklist, or sender policy)"},
    Meaning{"7.8", "the username or password was rejected; check the connector's auth settings"},
    Meaning{"7.9", "the login mechanism is too weak for the remote server"},
    Meaning{"7.11", "the remote server requires TLS before login"},
    Meaning{"7.23", "the message failed the sender domain's SPF check"},
    Meaning{"7.25", "this server's IP address has no valid reverse DNS (PTR) record"},
    Meaning{"7.26", "the message failed sender authentication (SPF, DKIM and DMARC)"},
    Meaning{"7.27", "the sender's domain publishes a null MX"},
};

struct CodeMeaning {
  int code;
  std::string_view words;
};

// For replies without an enhanced code (RFC 5321 §4.2.2, §4.2.3).
constexpr std::array kCodeMeanings{
    CodeMeaning{421, "the remote server is closing the connection (busy, rate limiting, or shutting down)"},
    CodeMeaning{450, "the mailbox is unavailable for now (busy, greylisting, or policy)"},
    CodeMeaning{451, "the remote server had a local error"},
    CodeMeaning{452, "the remote server is short of storage or got too many recipients"},
    CodeMeaning{454, "TLS is not available on the remote server right now"},
    CodeMeaning{530, "the remote server requires authentication"},
    CodeMeaning{535, "the username or password was rejected; check the connector's auth settings"},
    CodeMeaning{550, "the mailbox is unavailable (not found, or refused by policy)"},
    CodeMeaning{551, "the user is not local to the remote server"},
    CodeMeaning{552, "the remote server's storage limit was exceeded"},
    CodeMeaning{553, "the mailbox name is not allowed"},
    CodeMeaning{554, "the remote server refused the transaction"},
    CodeMeaning{556, "the domain accepts no mail"},
};

}  // namespace

std::string reply_meaning(const Reply& reply) {
  const std::string key = subject_detail(reply.enhanced());
  if (!key.empty()) {
    for (const Meaning& m : kEnhancedMeanings)
      if (m.key == key) return std::string(m.words);
    // An unknown detail: the subject alone still says something ("7.x" -> "7.0").
    const std::string subject = key.substr(0, key.find('.')) + ".0";
    for (const Meaning& m : kEnhancedMeanings)
      if (m.key == subject) return std::string(m.words);
  }
  for (const CodeMeaning& m : kCodeMeanings)
    if (m.code == reply.code()) return std::string(m.words);
  return {};
}

Outcome classify_reply(const Reply& reply, std::string_view stage) {
  const Stage s = parse_stage(stage);
  const int code = reply.code();
  if (reply.positive()) {
    return make(false, Scope::recipient, reply, stage_words(s, stage, false) + ".");
  }
  if (code < 200 || code > 599) {
    // Not a reply RFC 5321 §4.2 allows: this host cannot be trusted with the rest.
    return make(false, Scope::connection, reply,
                "The remote server sent a reply that is not valid SMTP. " + next_step(false, Scope::connection));
  }
  const bool five = code >= 500;
  const std::string meaning = reply_meaning(reply);
  if (code == 421) {
    // RFC 5321 §3.8: the server is closing the channel, whatever the stage; another host
    // or a later attempt may succeed.
    return make(false, Scope::connection, reply,
                join("The remote server closed the session during " + std::string(stage.empty() ? "the session" : stage),
                     meaning, false, Scope::connection));
  }
  switch (s) {
    case Stage::connect:
    case Stage::greeting:
    case Stage::ehlo:
      // A host that will not talk to us: the next MX may (RFC 5321 §5.1).
      return make(five, Scope::connection, reply, join(stage_words(s, stage, true), meaning, five, Scope::connection));
    case Stage::starttls:
    case Stage::auth:
      // Our TLS or our credentials: mail waits for the admin instead of bouncing.
      return make(false, Scope::connection, reply, join(stage_words(s, stage, true), meaning, false, Scope::connection));
    case Stage::rcpt: {
      // RFC 5321 §4.5.3.1.10: 552 to RCPT has meant "too many recipients"; treat as 452.
      const bool permanent = five && code != 552;
      std::string words = join(stage_words(s, stage, true), code == 552 ? "too many recipients for this transaction" : meaning,
                               permanent, Scope::recipient);
      return make(permanent, Scope::recipient, reply, std::move(words));
    }
    case Stage::mail:
    case Stage::data:
    case Stage::end_of_data:
    case Stage::other:
      break;
  }
  return make(five, Scope::message, reply, join(stage_words(s, stage, true), meaning, five, Scope::message));
}

Outcome classify_connect_error(std::string_view what, const std::string& host, const std::string& ip, uint16_t port) {
  Reply reply(451, "4.4.1", "connect to " + host + "[" + ip + "]:" + std::to_string(port) + ": " + std::string(what));
  const std::string w = routing::ascii_lower(what);
  std::string meaning;
  if (w.find("refused") != std::string::npos) {
    meaning = "nothing accepts connections on that port at that address (server down, wrong port, or a firewall rejecting us)";
  } else if (w.find("timed out") != std::string::npos || w.find("timeout") != std::string::npos) {
    meaning = "no answer at all: a firewall may be dropping the packets (many networks block outbound port 25)";
  } else if (w.find("unreachable") != std::string::npos || w.find("no route") != std::string::npos) {
    meaning = "there is no network route to that address (an IPv6 address without IPv6 connectivity, or a routing problem)";
  } else if (w.find("reset") != std::string::npos) {
    meaning = "the remote side reset the connection";
  } else {
    meaning = "the connection could not be made";
  }
  return make(false, Scope::connection, std::move(reply),
              join("Connecting to " + host + " (" + ip + ") port " + std::to_string(port) + " failed", meaning, false,
                   Scope::connection));
}

Outcome classify_lost_connection(std::string_view stage, const std::string& host, const std::string& ip) {
  const std::string what = stage.empty() ? std::string("the session") : "sending " + std::string(stage);
  Reply reply(451, "4.4.2", "lost connection with " + host + "[" + ip + "] while " + what);
  std::string words = "The connection to " + host + " (" + ip + ") broke off while " + what;
  if (parse_stage(stage) == Stage::end_of_data) {
    // RFC 1047: the message may have arrived although we never saw the reply.
    words += "; the message may have arrived and may be delivered twice";
  }
  return make(false, Scope::connection, std::move(reply), words + ". " + next_step(false, Scope::connection));
}

Outcome classify_dns(const dns::Status& status, std::string_view detail) {
  return classify_route_error(routing::dns_failure(status, detail));
}

Outcome classify_route_error(const Error& error) {
  const bool permanent = error.klass == ErrorClass::permanent;
  Reply reply = error.reply.value_or(permanent ? Reply(550, "5.4.4", error.context) : Reply(451, "4.4.0", error.context));
  // Routing's context says more than the reply when it differs (an Unreachable reason,
  // smart hosts that do not resolve); otherwise the reply's meaning is the explanation.
  const bool own_words = !error.context.empty() && error.context != reply.text();
  std::string head = own_words ? error.context : "Finding the destination's mail servers failed";
  if (!head.empty() && head[0] >= 'a' && head[0] <= 'z') head[0] = static_cast<char>(head[0] - 'a' + 'A');
  const std::string meaning = own_words ? std::string() : reply_meaning(reply);
  return make(permanent, Scope::queue, reply, join(std::move(head), meaning, permanent, Scope::queue));
}

}  // namespace sluice::delivery
