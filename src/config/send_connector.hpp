// config/send_connector.hpp: send connectors — how mail for other domains leaves sluiced —
// and the text forms only they use: address spaces ("*", "example.com", "*.example.com"),
// smart hosts ("host", "host:port", "[ip]", "[ip]:port"), message rates ("600/min") and the
// TLS mode toward the next hop.
// Owns: the shape of a send connector with its defaults, and parsing/printing of those text
// forms (so routing, the queue and `sluice` print them the way the admin wrote them).
// Not: reading the TOML table (loader.cpp), choosing a connector for a domain (routing/),
// resolving smart hosts (routing/, dns/), reading password_file (the daemon).
// Follows Exchange's send connector model (address spaces and cost; wildcards only as "*"
// or "*.domain"), RFC 5321 §2.3.5 / §4.1.3 (address literals "[ip]"), RFC 3986 §3.2.2
// (brackets around IPv6 literals before a port), RFC 7435 (opportunistic TLS).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace sluice::config {

// What TLS a send connector asks of the next hop.
enum class TlsMode {
  none,           // never STARTTLS
  opportunistic,  // STARTTLS when offered, no certificate check, plaintext otherwise (RFC 7435)
  required,       // STARTTLS or no delivery; no certificate check
  verify,         // STARTTLS with the chain checked (system CAs or ca_file) and the host name
};

std::string_view to_string(TlsMode m);
std::optional<TlsMode> parse_tls_mode(std::string_view text);

// A smart host. `literal`: written as "[ip]" / "[ip]:port" — `host` holds the bare IP (IPv6
// in canonical form) and no DNS lookup is made. Otherwise `host` is a lower-case name looked
// up by A/AAAA (never MX, as Exchange and Postfix do for smart hosts with brackets or names).
// A loaded connector's smart hosts always carry a port (the connector's `port` when the
// text had none); port 0 only means "not written" in what parse() returns.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  bool literal = false;

  static Result<HostPort> parse(std::string_view text);
  std::string to_string() const;  // "relay.test:587", "[127.0.0.1]:2600", "[::1]:25", "relay.test"
  bool operator==(const HostPort&) const = default;
};

struct SendAuth {
  std::string username;
  // Holds the password (its first line; a trailing newline is not part of it). Read by the
  // daemon when it delivers, so a changed secret needs no reload and never sits in a Config.
  std::string password_file;
};

// At most `count` messages per `per` toward one next hop; count 0 = unlimited.
struct MessageRate {
  uint32_t count = 0;
  std::chrono::seconds per{60};

  // "N/s", "N/min", "N/h", with N >= 1.
  static Result<MessageRate> parse(std::string_view text);
  std::string to_string() const;  // "600/min"; "unlimited" when count is 0
  bool unlimited() const { return count == 0; }
  bool operator==(const MessageRate&) const = default;
};

// An address space: "*" (every domain), "example.com" (that domain only), "*.example.com"
// (its subdomains, not the domain itself — list both to cover both, as in Exchange).
// Returns "" if `space` (already lower case) is valid, else why not.
std::string check_address_space(std::string_view space);

// How specifically an address space matches `domain` (lower case): -1 no match, 0 for "*",
// 1 + suffix length for "*.suffix", and an exact name beats every wildcard. Larger wins
// (routing's most-specific rule); kept here so that the loader's ambiguity check and routing
// agree on what "equally specific" means.
int address_space_specificity(std::string_view space, std::string_view domain);

struct SendConnector {
  std::string name;
  std::vector<std::string> address_spaces;  // lower case, checked by check_address_space
  unsigned cost = 1;                        // 1..100; lower wins among equally specific matches
  uint16_t port = 25;                       // MX delivery port; the default port of smart hosts
  std::vector<HostPort> smart_hosts;        // empty = MX routing
  std::optional<SendAuth> auth;             // AUTH PLAIN/LOGIN toward smart hosts
  unsigned max_connections = 10;            // per next hop
  unsigned max_messages_per_connection = 100;
  MessageRate max_message_rate;             // per next hop; default unlimited
  std::string source_ip;                    // canonical IP to bind; "" = the system's choice
  std::string helo_name;                    // the loader fills [server] hostname when left out
  TlsMode tls = TlsMode::opportunistic;
  std::string ca_file;                      // PEM CAs for tls = "verify"; "" = system store
  bool allow_plaintext_auth = false;        // AUTH without TLS (credentials in the clear)
  std::chrono::seconds connect_timeout{30};
  unsigned max_hosts_per_attempt = 5;       // MX/A hosts tried per delivery attempt
  bool protocol_log = true;

  bool uses_smart_hosts() const { return !smart_hosts.empty(); }
};

}  // namespace sluice::config
