// policy/dnsbl.hpp: DNS blocklist and allowlist lookups for a client address — the query
// names, what an answer means, the zone's own reason text (TXT), and the reply that refuses.
// Owns: RFC 5782 queries (§2.1 IPv4 reversed octets, §2.4 IPv6 reversed nibbles, A for the
// listing, TXT for the reason), which answers list (127.0.0.0/8, §2.3; 127.255.255.x is a
// blocklist's own error code — e.g. "query refused" — and never a listing), the meaning of
// return codes from [[dnsbl]] codes, and fail-open on SERVFAIL/timeout (a broken blocklist
// must not stop mail: the failure is reported, the client is not listed).
// Not: where a listing acts (policy/protection_policy), the resolver (dns/).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/reply.hpp"
#include "config/protection.hpp"
#include "dns/resolver.hpp"

namespace sluice::policy {

struct DnsblListing {
  std::string zone;
  std::string code;     // the A answer, "127.0.0.2"
  std::string meaning;  // from [[dnsbl]] codes, else "listed"
  std::string text;     // the zone's TXT record, may be empty
  bool allow = false;   // the zone is an allowlist (DNSWL)
  config::DnsblAction action = config::DnsblAction::connect;
};

struct DnsblResult {
  std::vector<DnsblListing> listings;  // blocklists and allowlists that list the client
  std::vector<std::string> failures;   // "bl.example.test: SERVFAIL ..." (not listed: fail open)

  // The first allowlist listing, if any: it skips every blocklist.
  const DnsblListing* allowed() const;
  // The first blocklist listing whose action is `action`, unless an allowlist lists the client.
  const DnsblListing* blocked(config::DnsblAction action) const;
};

// One zone as a connector applies it: the zone and the action on that connector.
struct AppliedZone {
  const config::DnsblZone* zone;
  config::DnsblAction action;
};

class DnsblChecker {
 public:
  // `zones` must outlive the checker (the Config snapshot). The resolver may run on another
  // loop: `done` of check() runs on the resolver's loop.
  DnsblChecker(dns::Resolver& resolver, const std::vector<config::DnsblZone>& zones)
      : resolver_(resolver), zones_(zones) {}

  // The zones a receive connector queries, with their action there.
  std::vector<AppliedZone> zones_for(const std::string& connector, bool internet_usage) const;

  // Queries every zone in `zones` for `ip` at once; `done` runs once, when all have answered
  // (each query ends by the resolver's own deadline). No zone or a bad address: done at once.
  void check(const std::string& ip, std::vector<AppliedZone> zones, std::function<void(DnsblResult)> done);

  // "2.0.0.127.zen.example.test" (RFC 5782 §2.1, §2.4); "" if `ip` is not an address.
  static std::string query_name(const std::string& ip, const std::string& zone);
  // "554 5.7.1 Service unavailable; client [ip] blocked using <zone>: <reason>" (the wording
  // admins know from Postfix); the reason is the zone's text, else the code's meaning.
  static Reply refusal(const std::string& ip, const DnsblListing& listing);

 private:
  dns::Resolver& resolver_;
  const std::vector<config::DnsblZone>& zones_;
};

}  // namespace sluice::policy
