// auth/spf.cpp: RFC 7208 check_host() over dns::Resolver; see spf.hpp.
//
// One Evaluation object (shared by its pending callbacks) holds what the whole check shares:
// the limits' counters, the client address and the %{p} name. Each record being evaluated
// (the identity's, and every include/redirect target) is a Frame with its own %{d}. The code
// is continuation-passing: a step that needs DNS asks the resolver and resumes in the
// callback; the resolver never calls back inside the call, so the stack does not grow with
// the number of lookups.
#include "auth/spf.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "auth/spf_macro.hpp"
#include "auth/spf_record.hpp"

namespace sluice::auth {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string strip_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

// §4.3: a domain that is not a multi-label name with labels of 1..63 octets cannot have a
// record: the result is none.
// Address literals ("[192.0.2.1]") and bare addresses are not domains either.
bool valid_identity_domain(const std::string& domain) {
  std::string d = strip_dot(domain);
  if (d.empty() || d.size() > 253 || d.find('.') == std::string::npos) return false;
  if (d.front() == '[') return false;
  if (d.find_first_not_of("0123456789", d.rfind('.') + 1) == std::string::npos) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    size_t len = (dot == std::string::npos ? d.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return true;
}

// A target produced by a mechanism: labels must be 1..63 octets for a query to make sense.
bool valid_target(const std::string& domain) {
  std::string d = strip_dot(domain);
  if (d.empty() || d.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = d.find('.', start);
    size_t len = (dot == std::string::npos ? d.size() : dot) - start;
    if (len == 0 || len > 63) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

struct Address {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
};

std::optional<Address> parse_address(const std::string& text) {
  Address a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
    static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::equal(kMapped, kMapped + 12, a.bytes.begin())) {
      std::array<uint8_t, 16> v4{};
      std::copy(a.bytes.begin() + 12, a.bytes.end(), v4.begin());
      a.bytes = v4;
      return a;
    }
    a.v6 = true;
    return a;
  }
  return std::nullopt;
}

bool prefix_match(const uint8_t* a, const uint8_t* b, int bits) {
  int full = bits / 8;
  if (!std::equal(a, a + full, b)) return false;
  int rest = bits % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

bool transient(dns::Status s) {
  return s == dns::Status::servfail || s == dns::Status::timeout || s == dns::Status::error;
}
// Kept here rather than dns::to_string so that sluice_auth needs only the Resolver interface.
std::string status_words(dns::Status s) {
  switch (s) {
    case dns::Status::servfail: return "DNS SERVFAIL";
    case dns::Status::timeout: return "DNS timeout";
    case dns::Status::nxdomain: return "NXDOMAIN";
    case dns::Status::nodata: return "no DNS data";
    case dns::Status::ok: return "DNS answer";
    case dns::Status::error: return "DNS error";
  }
  return "DNS error";
}

bool empty_answer(dns::Status s) { return s == dns::Status::nxdomain || s == dns::Status::nodata; }

SpfResult from_qualifier(SpfQualifier q) {
  switch (q) {
    case SpfQualifier::pass: return SpfResult::pass;
    case SpfQualifier::fail: return SpfResult::fail;
    case SpfQualifier::softfail: return SpfResult::softfail;
    case SpfQualifier::neutral: return SpfResult::neutral;
  }
  return SpfResult::neutral;
}

// What a record evaluation produced.
struct Verdict {
  SpfResult result = SpfResult::neutral;
  std::string mechanism;
  std::string detail;
  std::string explanation;
};

// What matching one mechanism produced: no match, match, or an error that ends the check.
struct Match {
  enum class Kind { no, yes, error } kind = Kind::no;
  SpfResult error = SpfResult::temperror;
  std::string detail;
  static Match no() { return {}; }
  static Match yes() { return {Kind::yes, SpfResult::pass, ""}; }
  static Match err(SpfResult r, std::string why) { return {Kind::error, r, std::move(why)}; }
};

using VerdictFn = std::function<void(Verdict)>;
using MatchFn = std::function<void(Match)>;

class Evaluation : public std::enable_shared_from_this<Evaluation> {
 public:
  Evaluation(dns::Resolver& resolver, const SpfLimits& limits, SpfMacroContext base, Address client)
      : resolver_(resolver), limits_(limits), base_(std::move(base)), client_(client) {}

  // §4: check_host() for `domain`; `k` gets the verdict.
  void check_host(std::string domain, VerdictFn k) {
    auto self = shared_from_this();
    resolver_.txt(domain, [self, domain, k = std::move(k)](dns::Answer<std::string> answer) mutable {
      self->on_record(std::move(domain), std::move(answer), std::move(k));
    });
  }

 private:
  struct Frame {
    std::string domain;
    SpfRecord record;
    VerdictFn k;
  };
  using FramePtr = std::shared_ptr<Frame>;

  void on_record(std::string domain, dns::Answer<std::string> answer, VerdictFn k) {
    if (transient(answer.status)) {
      return k({SpfResult::temperror, "", status_words(answer.status) + " looking up the SPF record of " + domain, ""});
    }
    std::vector<std::string> spf;
    for (auto& txt : answer.records) {
      if (is_spf_record(txt)) spf.push_back(txt);
    }
    if (spf.empty()) return k({SpfResult::none, "", "no SPF record at " + domain, ""});
    if (spf.size() > 1) return k({SpfResult::permerror, "", "more than one SPF record at " + domain, ""});
    auto record = parse_spf_record(spf.front());
    if (!record) {
      return k({SpfResult::permerror, "", "SPF record of " + domain + ": " + record.error().context, ""});
    }
    auto frame = std::make_shared<Frame>(Frame{std::move(domain), std::move(*record), std::move(k)});
    run_terms(frame, 0);
  }

  SpfMacroContext context_for(const std::string& domain) const {
    SpfMacroContext ctx = base_;
    ctx.domain = domain;
    ctx.validated_name = validated_name_;
    return ctx;
  }

  // Expands a domain-spec (default: the frame's domain); validates %{p} first when needed.
  void expand_target(const FramePtr& f, const std::string& spec, std::function<void(Result<std::string>)> k) {
    if (spec.empty()) return k(f->domain);
    auto finish = [self = shared_from_this(), f, spec, k]() {
      auto out = expand_spf_macros(spec, self->context_for(f->domain), SpfMacroUse::domain);
      if (!out) return k(std::move(out));
      return k(strip_dot(*out));
    };
    if (spf_macro_uses_ptr(spec) && !ptr_validated_) {
      validate_ptr(f->domain, std::move(finish));
    } else {
      finish();
    }
  }

  bool count_term(std::string& why) {
    if (++dns_terms_ > limits_.dns_terms) {
      why = "more than " + std::to_string(limits_.dns_terms) + " DNS-querying terms";
      return false;
    }
    return true;
  }

  // A lookup that answered nothing: the third one is a permerror (§4.6.4).
  std::optional<Match> count_void(const std::string& name) {
    if (++void_lookups_ > limits_.void_lookups) {
      return Match::err(SpfResult::permerror, "more than " + std::to_string(limits_.void_lookups) +
                                                  " void DNS lookups (last: " + name + ")");
    }
    return std::nullopt;
  }

  void run_terms(const FramePtr& f, size_t i) {
    if (i >= f->record.mechanisms.size()) return finish_without_match(f);
    const SpfMechanism& m = f->record.mechanisms[i];
    auto self = shared_from_this();
    match(f, m, [self, f, i](Match r) {
      const SpfMechanism& mech = f->record.mechanisms[i];
      if (r.kind == Match::Kind::error) return f->k({r.error, mech.text, r.detail, ""});
      if (r.kind == Match::Kind::no) return self->run_terms(f, i + 1);
      SpfResult result = from_qualifier(mech.qualifier);
      std::string detail = "matched " + mech.text + " in the SPF record of " + f->domain;
      if (result != SpfResult::fail) return f->k({result, mech.text, detail, ""});
      self->explain(f, [f, mech_text = mech.text, detail](std::string text) {
        f->k({SpfResult::fail, mech_text, detail, std::move(text)});
      });
    });
  }

  void finish_without_match(const FramePtr& f) {
    if (!f->record.redirect) {
      return f->k({SpfResult::neutral, "", "no mechanism matched in the SPF record of " + f->domain, ""});
    }
    std::string why;
    if (!count_term(why)) return f->k({SpfResult::permerror, "redirect=" + *f->record.redirect, why, ""});
    auto self = shared_from_this();
    expand_target(f, *f->record.redirect, [self, f](Result<std::string> target) {
      std::string text = "redirect=" + *f->record.redirect;
      if (!target) return f->k({SpfResult::permerror, text, target.error().context, ""});
      if (!valid_target(*target)) return f->k({SpfResult::permerror, text, "redirect to an invalid domain \"" + *target + "\"", ""});
      self->check_host(*target, [f, text, target = *target](Verdict v) {
        // §6.1: a redirect to a domain without a record is a permerror.
        if (v.result == SpfResult::none) {
          return f->k({SpfResult::permerror, text, "redirect to " + target + ", which has no SPF record", ""});
        }
        f->k(std::move(v));
      });
    });
  }

  // §6.2: the explanation of a fail, from the record's exp= or a default sentence.
  void explain(const FramePtr& f, std::function<void(std::string)> k) {
    std::string fallback = f->domain + " does not designate " + base_.client_ip + " as permitted sender";
    if (!f->record.exp) return k(fallback);
    auto self = shared_from_this();
    expand_target(f, *f->record.exp, [self, f, fallback, k](Result<std::string> target) {
      if (!target || !valid_target(*target)) return k(fallback);
      self->resolver_.txt(*target, [self, f, fallback, k](dns::Answer<std::string> a) {
        if (a.status != dns::Status::ok || a.records.size() != 1) return k(fallback);
        const std::string& spec = a.records.front();
        auto text = expand_spf_macros(spec, self->context_for(f->domain), SpfMacroUse::explanation);
        if (!text) return k(fallback);
        if (spf_macro_uses_ptr(spec) && !self->ptr_validated_) {
          // %{p} in the explanation: validate, then expand again.
          return self->validate_ptr(f->domain, [self, f, spec, fallback, k]() {
            auto again = expand_spf_macros(spec, self->context_for(f->domain), SpfMacroUse::explanation);
            k(again ? *again : fallback);
          });
        }
        k(*text);
      });
    });
  }

  void match(const FramePtr& f, const SpfMechanism& m, MatchFn k) {
    switch (m.kind) {
      case SpfMechanismKind::all:
        return k(Match::yes());
      case SpfMechanismKind::ip4:
        return k(!client_.v6 && prefix_match(client_.bytes.data(), m.network.data(), m.cidr4) ? Match::yes() : Match::no());
      case SpfMechanismKind::ip6:
        return k(client_.v6 && prefix_match(client_.bytes.data(), m.network.data(), m.cidr6) ? Match::yes() : Match::no());
      default:
        break;
    }
    std::string why;
    if (!count_term(why)) return k(Match::err(SpfResult::permerror, why));
    auto self = shared_from_this();
    expand_target(f, m.domain_spec, [self, f, &m, k = std::move(k)](Result<std::string> target) mutable {
      if (!target) return k(Match::err(SpfResult::permerror, target.error().context));
      if (m.kind == SpfMechanismKind::include && !valid_target(*target)) {
        return k(Match::err(SpfResult::permerror, "include of an invalid domain \"" + *target + "\""));
      }
      if (!valid_target(*target)) return k(Match::no());  // nothing to look up; no match
      switch (m.kind) {
        case SpfMechanismKind::a: return self->match_a(*target, m, std::move(k));
        case SpfMechanismKind::mx: return self->match_mx(*target, m, std::move(k));
        case SpfMechanismKind::ptr: return self->match_ptr(*target, std::move(k));
        case SpfMechanismKind::include: return self->match_include(*target, std::move(k));
        case SpfMechanismKind::exists: return self->match_exists(*target, std::move(k));
        default: return k(Match::no());
      }
    });
  }

  // A or AAAA, by the client's family (§5.3).
  void addresses(const std::string& name, std::function<void(dns::Answer<std::string>)> k) {
    if (client_.v6) resolver_.aaaa(name, std::move(k));
    else resolver_.a(name, std::move(k));
  }

  bool client_in(const std::vector<std::string>& addrs, int cidr4, int cidr6) const {
    for (const auto& text : addrs) {
      Address a;
      int family = client_.v6 ? AF_INET6 : AF_INET;
      if (inet_pton(family, text.c_str(), a.bytes.data()) != 1) continue;
      if (prefix_match(client_.bytes.data(), a.bytes.data(), client_.v6 ? cidr6 : cidr4)) return true;
    }
    return false;
  }

  void match_a(const std::string& target, const SpfMechanism& m, MatchFn k) {
    int c4 = m.cidr4, c6 = m.cidr6;
    auto self = shared_from_this();
    addresses(target, [self, target, c4, c6, k = std::move(k)](dns::Answer<std::string> a) {
      if (transient(a.status)) return k(Match::err(SpfResult::temperror, a.detail.empty() ? "DNS failure for " + target : a.detail));
      if (empty_answer(a.status)) {
        if (auto e = self->count_void(target)) return k(*e);
        return k(Match::no());
      }
      k(self->client_in(a.records, c4, c6) ? Match::yes() : Match::no());
    });
  }

  void match_mx(const std::string& target, const SpfMechanism& m, MatchFn k) {
    int c4 = m.cidr4, c6 = m.cidr6;
    auto self = shared_from_this();
    resolver_.mx(target, [self, target, c4, c6, k = std::move(k)](dns::Answer<dns::MxRecord> a) {
      if (transient(a.status)) return k(Match::err(SpfResult::temperror, a.detail.empty() ? "DNS failure for MX of " + target : a.detail));
      if (empty_answer(a.status)) {
        if (auto e = self->count_void(target)) return k(*e);
        return k(Match::no());
      }
      if (static_cast<int>(a.records.size()) > self->limits_.mx_names) {
        return k(Match::err(SpfResult::permerror, target + " has more than " + std::to_string(self->limits_.mx_names) + " MX records"));
      }
      auto names = std::make_shared<std::vector<std::string>>();
      for (auto& mx : a.records) {
        if (!mx.exchange.empty()) names->push_back(mx.exchange);
      }
      self->match_names(names, 0, c4, c6, std::move(k));
    });
  }

  // The address records of each MX name in turn; the first that holds the client matches.
  void match_names(std::shared_ptr<std::vector<std::string>> names, size_t i, int c4, int c6, MatchFn k) {
    if (i >= names->size()) return k(Match::no());
    auto self = shared_from_this();
    addresses((*names)[i], [self, names, i, c4, c6, k = std::move(k)](dns::Answer<std::string> a) mutable {
      if (transient(a.status)) return k(Match::err(SpfResult::temperror, a.detail.empty() ? "DNS failure for " + (*names)[i] : a.detail));
      if (a.status == dns::Status::ok && self->client_in(a.records, c4, c6)) return k(Match::yes());
      self->match_names(std::move(names), i + 1, c4, c6, std::move(k));
    });
  }

  // §5.5: names of the client's PTR records whose own addresses include the client.
  void validated_names(std::function<void(std::vector<std::string>)> k) {
    auto self = shared_from_this();
    resolver_.ptr(base_.client_ip, [self, k = std::move(k)](dns::Answer<std::string> a) mutable {
      auto names = std::make_shared<std::vector<std::string>>();
      if (a.status == dns::Status::ok) {
        for (auto& n : a.records) {
          if (static_cast<int>(names->size()) >= self->limits_.ptr_names) break;
          names->push_back(lower(strip_dot(n)));
        }
      }
      auto valid = std::make_shared<std::vector<std::string>>();
      self->validate_each(names, 0, valid, std::move(k));
    });
  }

  void validate_each(std::shared_ptr<std::vector<std::string>> names, size_t i,
                     std::shared_ptr<std::vector<std::string>> valid, std::function<void(std::vector<std::string>)> k) {
    if (i >= names->size()) return k(*valid);
    auto self = shared_from_this();
    addresses((*names)[i], [self, names, i, valid, k = std::move(k)](dns::Answer<std::string> a) mutable {
      // §5.5: a DNS error here skips the name.
      if (a.status == dns::Status::ok && self->client_in(a.records, 32, 128)) valid->push_back((*names)[i]);
      self->validate_each(std::move(names), i + 1, std::move(valid), std::move(k));
    });
  }

  static bool within(const std::string& name, const std::string& domain) {
    std::string d = lower(domain);
    return name == d || (name.size() > d.size() && name.compare(name.size() - d.size(), d.size(), d) == 0 &&
                         name[name.size() - d.size() - 1] == '.');
  }

  void match_ptr(const std::string& target, MatchFn k) {
    validated_names([target, k = std::move(k)](std::vector<std::string> names) {
      for (auto& n : names) {
        if (within(n, target)) return k(Match::yes());
      }
      k(Match::no());
    });
  }

  // %{p} (§7.3): the target domain itself if validated, else a subdomain of it, else any.
  void validate_ptr(const std::string& domain, std::function<void()> k) {
    auto self = shared_from_this();
    validated_names([self, domain, k = std::move(k)](std::vector<std::string> names) {
      self->ptr_validated_ = true;
      std::string d = lower(domain);
      std::string pick;
      for (auto& n : names) if (n == d) { pick = n; break; }
      if (pick.empty()) for (auto& n : names) if (within(n, d)) { pick = n; break; }
      if (pick.empty() && !names.empty()) pick = names.front();
      self->validated_name_ = pick.empty() ? "unknown" : pick;
      k();
    });
  }

  void match_include(const std::string& target, MatchFn k) {
    check_host(target, [target, k = std::move(k)](Verdict v) {
      switch (v.result) {
        case SpfResult::pass: return k(Match::yes());
        case SpfResult::fail:
        case SpfResult::softfail:
        case SpfResult::neutral: return k(Match::no());
        case SpfResult::temperror: return k(Match::err(SpfResult::temperror, "include:" + target + ": " + v.detail));
        case SpfResult::permerror: return k(Match::err(SpfResult::permerror, "include:" + target + ": " + v.detail));
        case SpfResult::none: return k(Match::err(SpfResult::permerror, "include:" + target + " has no SPF record"));
      }
    });
  }

  void match_exists(const std::string& target, MatchFn k) {
    auto self = shared_from_this();
    // §5.7: always an A query, whatever the client's family.
    resolver_.a(target, [self, target, k = std::move(k)](dns::Answer<std::string> a) {
      if (transient(a.status)) return k(Match::err(SpfResult::temperror, a.detail.empty() ? "DNS failure for " + target : a.detail));
      if (empty_answer(a.status)) {
        if (auto e = self->count_void(target)) return k(*e);
        return k(Match::no());
      }
      k(Match::yes());
    });
  }

  dns::Resolver& resolver_;
  SpfLimits limits_;
  SpfMacroContext base_;
  Address client_;
  int dns_terms_ = 0;
  int void_lookups_ = 0;
  bool ptr_validated_ = false;
  std::string validated_name_;
};

}  // namespace

const char* to_string(SpfResult r) {
  switch (r) {
    case SpfResult::none: return "none";
    case SpfResult::neutral: return "neutral";
    case SpfResult::pass: return "pass";
    case SpfResult::fail: return "fail";
    case SpfResult::softfail: return "softfail";
    case SpfResult::temperror: return "temperror";
    case SpfResult::permerror: return "permerror";
  }
  return "?";
}

SpfEvaluator::SpfEvaluator(dns::Resolver& resolver, SpfLimits limits) : resolver_(resolver), limits_(limits) {}

void SpfEvaluator::check_mail_from(SpfCheck check, std::function<void(SpfOutcome)> done) {
  if (check.sender.empty()) {
    std::string helo = check.helo;
    return start(std::move(check), "postmaster", std::move(helo), std::move(done));
  }
  size_t at = check.sender.rfind('@');
  std::string local = at == std::string::npos ? "postmaster" : check.sender.substr(0, at);
  std::string domain = at == std::string::npos ? check.sender : check.sender.substr(at + 1);
  if (local.empty()) local = "postmaster";  // §4.3: no local-part
  start(std::move(check), std::move(local), std::move(domain), std::move(done));
}

void SpfEvaluator::check_helo(SpfCheck check, std::function<void(SpfOutcome)> done) {
  std::string helo = check.helo;
  start(std::move(check), "postmaster", std::move(helo), std::move(done));
}

void SpfEvaluator::start(SpfCheck check, std::string local_part, std::string domain,
                         std::function<void(SpfOutcome)> done) {
  domain = strip_dot(domain);
  auto client = parse_address(check.client_ip);
  if (!valid_identity_domain(domain) || !client) {
    SpfOutcome out;
    out.result = SpfResult::none;
    out.domain = domain;
    out.detail = !client ? "\"" + check.client_ip + "\" is not an IP address"
                         : "\"" + domain + "\" is not a domain name that can have an SPF record";
    done(std::move(out));  // no DNS needed: answered inside the call (see spf.hpp)
    return;
  }
  SpfMacroContext ctx;
  ctx.local_part = local_part;
  ctx.sender_domain = domain;
  ctx.client_ip = check.client_ip;
  {
    // Macros see the canonical text (RFC 5952 for IPv6; an IPv4-mapped address as IPv4).
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(client->v6 ? AF_INET6 : AF_INET, client->bytes.data(), buf, sizeof buf);
    ctx.client_ip = buf;
  }
  ctx.helo = check.helo;
  ctx.receiver = check.receiver;
  ctx.timestamp = check.timestamp;
  auto eval = std::make_shared<Evaluation>(resolver_, limits_, std::move(ctx), *client);
  eval->check_host(domain, [eval, domain, done = std::move(done)](Verdict v) mutable {
    SpfOutcome out;
    out.result = v.result;
    out.domain = domain;
    out.mechanism = std::move(v.mechanism);
    out.explanation = std::move(v.explanation);
    out.detail = std::move(v.detail);
    // The Evaluation keeps itself alive through its callbacks; drop that cycle here.
    eval.reset();
    done(std::move(out));
  });
}

}  // namespace sluice::auth
