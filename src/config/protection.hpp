// config/protection.hpp: the settings of inbound protection — DNS blocklists and allowlists
// ([[dnsbl]]), static allowlists and reverse DNS rules ([protection]), greylisting
// ([greylist]) and rate limits per receive connector ([[rate_limit]]).
// Owns: their shape and defaults (the loader checks the values). Not: the checks themselves
// (policy/dnsbl, policy/greylist, policy/rate_limits).
// Follows RFC 5782 (DNSBL/DNSWL query form and 127.0.0.x answers) and RFC 6647
// (greylisting: triplet, delay, lifetime, auto-pass of clients that retry).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "config/ip_range.hpp"

namespace sluice::config {

// Where a blocklist listing acts on a connector.
enum class DnsblAction {
  connect,  // refuse the connection: 554 5.7.1 instead of the greeting
  rcpt,     // refuse every RCPT (the client can still reach postmaster, RFC 5321 §4.5.1)
  record,   // only record the listing (protocol log), accept the mail
};

struct DnsblZone {
  std::string zone;    // "zen.example-bl.test"
  bool allow = false;  // a DNSWL: a listed client skips the blocklists and greylisting
  // A listing answer (127.0.0.x) → what it means ("spam source"); an answer not in the map
  // still lists the client (meaning "listed") unless `only_codes` says otherwise.
  std::map<std::string, std::string> codes;
  bool only_codes = false;
  DnsblAction action = DnsblAction::connect;
  // The connectors that query this zone by name; empty = every connector with usage
  // "internet". Per connector, `actions` overrides `action`.
  std::vector<std::string> connectors;
  std::map<std::string, DnsblAction> actions;
};

struct ProtectionSettings {
  // Clients that skip DNSBL checks and greylisting (their own servers, partners).
  std::vector<IpRange> allowlist;
  // Refuse clients without a reverse DNS name (PTR) / whose name does not resolve back to
  // their address (FCrDNS), on the connectors that query blocklists. 450 4.7.25 / 550 5.7.25
  // (RFC 8601 / RFC 7372 code for reverse DNS failures).
  bool require_reverse_dns = false;
  bool require_fcrdns = false;
};

struct GreylistSettings {
  bool enabled = false;
  std::chrono::seconds delay{std::chrono::minutes(5)};   // a retry before this is refused again
  std::chrono::seconds lifetime{std::chrono::hours(4)};  // an unconfirmed triplet is forgotten
  // A client network that passed greylisting once skips it for this long (auto-pass).
  std::chrono::seconds pass_for{std::chrono::days(36)};
  std::vector<std::string> connectors;  // empty = every connector with usage "internet"
};

// One receive connector's rates (Exchange's MessageRateLimit / MessageRateSource). 0 = no limit.
struct RateLimitSettings {
  std::string connector;
  unsigned connections_per_minute_per_ip = 0;  // 421 4.7.0 at connect
  unsigned messages_per_minute_per_ip = 0;      // 451 4.7.1 at MAIL
  unsigned messages_per_minute_per_sender = 0;  // envelope sender; 451 4.7.1 at MAIL
  unsigned messages_per_minute_per_user = 0;    // authenticated login; 451 4.7.1 at MAIL
  unsigned recipients_per_message = 0;          // 452 4.5.3 at RCPT (below max_recipients)
};

struct Protection {
  std::vector<DnsblZone> dnsbl;
  ProtectionSettings settings;
  GreylistSettings greylist;
  std::vector<RateLimitSettings> rate_limits;

  const RateLimitSettings* rate_limit_for(const std::string& connector) const {
    for (const auto& r : rate_limits)
      if (r.connector == connector) return &r;
    return nullptr;
  }
};

}  // namespace sluice::config
