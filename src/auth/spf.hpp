// auth/spf.hpp: SPF evaluation (RFC 7208): check_host() for the MAIL FROM and HELO identities
// over the asynchronous dns::Resolver, with the result, the term that decided it and the
// explanation an administrator or a sender can read.
// Owns: §4 check_host() — initial processing of the domain (§4.3), record selection (§4.4,
// §4.5: TXT only, exactly one "v=spf1" record), the mechanisms a, mx, ptr, ip4, ip6, include,
// exists, all (§5), redirect= and exp= (§6), the processing limits (§4.6.4: 10 DNS-querying
// terms, 2 void lookups, 10 MX and 10 PTR names), DNS errors as temperror (§2.6.6) and
// malformed records as permerror (§2.6.7), the %{p} validated name (§5.5, §7.3).
// Not: macro syntax (spf_macro.hpp), record grammar (spf_record.hpp), what a session does
// with a result (policy / session integration), Received-SPF and Authentication-Results
// headers (later steps).
//
// The evaluator is stateless between checks and keeps only a reference to the resolver, so
// one per event loop serves every session on it. `done` runs once, on the resolver's loop —
// except when the identity cannot have a record at all (not a domain name, §4.3: result none
// without any DNS query), where it runs inside the call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dns/resolver.hpp"

namespace sluice::auth {

enum class SpfResult { none, neutral, pass, fail, softfail, temperror, permerror };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 7208 §2.6,
// the words Received-SPF and Authentication-Results use).
const char* to_string(SpfResult r);

struct SpfCheck {
  std::string client_ip;  // IPv4 or IPv6 text; an IPv4-mapped IPv6 address counts as IPv4
  std::string sender;     // MAIL FROM without <>; "" for the null reverse-path
  std::string helo;       // the HELO/EHLO argument
  std::string receiver;   // our host name, for %{r} in explanations ("unknown" if empty)
  int64_t timestamp = 0;  // seconds since the epoch, for %{t} in explanations
};

struct SpfOutcome {
  SpfResult result = SpfResult::none;
  std::string domain;       // the identity's domain that was checked
  std::string mechanism;    // the term that matched ("ip4:192.0.2.0/24"), "" when none did
  std::string explanation;  // on fail: the exp= text, else a default sentence
  std::string detail;       // why, for logs: "matched ip4:192.0.2.0/24", "SERVFAIL for ..."
};

struct SpfLimits {
  int dns_terms = 10;     // include, a, mx, ptr, exists, redirect (§4.6.4)
  int void_lookups = 2;   // answers with no records or NXDOMAIN (§4.6.4)
  int mx_names = 10;      // more MX records than this: permerror (§4.6.4)
  int ptr_names = 10;     // PTR names beyond this are ignored (§4.6.4)
};

class SpfEvaluator {
 public:
  explicit SpfEvaluator(dns::Resolver& resolver, SpfLimits limits = {});

  // The MAIL FROM identity (§2.4); with a null sender, postmaster@<helo> (§2.4).
  void check_mail_from(SpfCheck check, std::function<void(SpfOutcome)> done);
  // The HELO identity (§2.3).
  void check_helo(SpfCheck check, std::function<void(SpfOutcome)> done);

 private:
  void start(SpfCheck check, std::string local_part, std::string domain, std::function<void(SpfOutcome)> done);

  dns::Resolver& resolver_;
  SpfLimits limits_;
};

}  // namespace sluice::auth
