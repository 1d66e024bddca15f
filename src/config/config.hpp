// config/config.hpp: the validated configuration of sluiced, as plain structs with the
// product's defaults. A Config exists only after loader.cpp has checked every key, so
// consumers trust its values (durations in seconds, sizes in bytes, addresses parsed).
// Owns: the shape of the configuration and its defaults. Not: TOML (loader.cpp), reload and
// sharing (the daemon holds a shared_ptr<const Config> snapshot, STYLE.md "Ownership").
// Relative paths are kept as written: they are resolved against the daemon's working
// directory when used, so a config can be checked anywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/ip_range.hpp"
#include "config/listen_address.hpp"
#include "config/send_connector.hpp"
#include "config/protection.hpp"
#include "config/tls_settings.hpp"

namespace sluice::config {

struct Server {
  std::string hostname;  // banner, EHLO name, Received; the loader fills the machine's name
  std::string data_dir = "var";  // spool, logs, state
  unsigned threads = 0;          // event loops; 0 = one per core
  // Users managed by `sluice user add|passwd|del` (address and Argon2id hash per line), in
  // addition to the [[user]] entries. Left out, the loader fills "<data_dir>/users" and a
  // missing file means no users; written, the file must exist (like `aliases`).
  std::string users_file = "var/users";
  bool users_file_explicit = false;
};

struct AcceptedDomain {
  std::string name;  // lower case; mail for it is delivered locally
};

struct LocalDelivery {
  std::string maildir_root = "var/mail";  // <root>/<domain>/<localpart>/{tmp,new,cur}
  std::string aliases = "var/aliases";    // /etc/aliases format
  // True when `aliases` was written in the file: then a missing file is an error for the
  // code that opens it; with the default path a missing file just means "no aliases".
  bool aliases_explicit = false;
};

struct User {
  std::string address;  // local part as written, domain in lower case
  // "$argon2id$v=19$m=...,t=...,p=...$salt$hash" (form checked by the loader); empty = the
  // user has a mailbox but cannot log in (AUTH) unless the users file gives a password.
  std::string password_hash;
};

// What a receive connector is for (Exchange's connector usage types).
enum class ConnectorUsage {
  internet,  // anonymous senders; only recipients in accepted domains
  relay,     // clients in remote_ip_ranges may relay anywhere without AUTH
  client,    // submission by authenticated users (587/465)
  custom,    // no preset: every permission comes from explicit settings
};

std::string_view to_string(ConnectorUsage u);
std::optional<ConnectorUsage> parse_connector_usage(std::string_view text);

struct ReceiveConnector {
  std::string name;
  std::vector<ListenAddress> listen;
  ConnectorUsage usage = ConnectorUsage::internet;
  std::vector<IpRange> remote_ip_ranges;  // empty = every client
  uint64_t max_message_size = 35ull << 20;
  unsigned max_recipients = 200;
  std::string banner = "ESMTP sluice";  // text after "220 <hostname> "
  unsigned max_errors = 5;              // protocol errors before 421 (MaxProtocolErrors)
  unsigned max_connections = 5000;
  unsigned max_connections_per_ip = 20;
  unsigned max_hop_count = 30;          // Received headers before the message is refused
  std::chrono::seconds command_timeout{std::chrono::minutes(5)};  // RFC 5321 §4.5.3.2.7
  std::chrono::seconds data_timeout{std::chrono::minutes(3)};     // RFC 5321 §4.5.3.2.6
  bool protocol_log = true;

  // TLS (RFC 3207 STARTTLS, or RFC 8314 implicit TLS). Empty = no TLS on this connector.
  // Several certificates: the one whose names match the client's SNI (RFC 6066 §3) serves
  // it; the first is the default when none matches or the client sends no SNI.
  std::vector<TlsCertificate> tls_certificates;
  bool implicit_tls = false;                      // TLS from the first byte (port 465 style)
  TlsVersion tls_min_version = TlsVersion::v1_2;
  bool require_tls = false;                       // MAIL before STARTTLS gets 530 5.7.0
  bool allow_plaintext_auth = false;              // offer AUTH before TLS (RFC 4954 §4)
  // MAIL FROM must be one of the logged-in user's addresses (553 5.7.1). The loader fills
  // true on client connectors and false elsewhere when the key is left out.
  bool sender_login_match = false;
  // Failed AUTH from one client address within logon_failure_window: after the limit the
  // client gets 421 4.7.0 and is refused for `tarpit` (Exchange's tarpitting).
  unsigned max_logon_failures = 3;
  std::chrono::seconds logon_failure_window{std::chrono::minutes(5)};
  std::chrono::seconds tarpit{std::chrono::minutes(5)};

  bool offers_tls() const { return !tls_certificates.empty(); }

  // Whether this connector accepts a connection from `client` (empty ranges = everyone).
  bool accepts(const IpAddress& client) const;
  // The specificity of the narrowest range containing `client`; -1 for "no ranges"
  // (matches everyone, less specific than any explicit range, even "0.0.0.0/0").
  int match_specificity(const IpAddress& client) const;
};

// How sluiced resolves names for outbound delivery (dns/).
struct DnsSettings {
  // Forward every query to these servers ("ip:port", or "ip" for port 53); empty = the
  // system resolver (/etc/resolv.conf).
  std::vector<ListenAddress> servers;
  std::chrono::seconds timeout{10};  // per query: our own deadline, then Status::timeout
};

// Retry and expiry of queued mail (queue/).
struct QueueSettings {
  // Waits between attempts of a next hop in Retry; after the last, the last repeats.
  std::vector<std::chrono::seconds> retry{std::chrono::minutes(1),  std::chrono::minutes(5),
                                          std::chrono::minutes(10), std::chrono::minutes(30),
                                          std::chrono::hours(1),    std::chrono::hours(2),
                                          std::chrono::hours(4)};
  std::chrono::seconds expire_after{std::chrono::hours(5 * 24)};  // then FAIL 4.4.7 and a bounce
  std::chrono::seconds delay_notice_after{std::chrono::hours(4)};  // one "delayed" DSN (RFC 3461 §4.1)

  // The wait after the `attempt`-th failed attempt (1-based): retry[attempt-1], or the last.
  std::chrono::seconds retry_interval(unsigned attempt) const;
};

// The admin API (HTTP + JSON, admin/). Loopback by default: it can remove mail.
struct AdminSettings {
  ListenAddress listen{"127.0.0.1", 8025};  // port 0: the daemon picks one and reports it
  bool enabled = true;
  // The bearer token every request must carry. Left out, the loader fills
  // "<data_dir>/admin.token"; the daemon creates it (0600) on first start.
  std::string token_file = "var/admin.token";
  bool token_file_explicit = false;
};

// [[dkim]]: sign outbound mail of `domain` (and its subdomains) with DKIM (auth/dkim_signer).
// RFC 6376 §3.6.2.1: the public key is published at <selector>._domainkey.<domain>.
struct DkimSigning {
  std::string domain;     // lower case
  std::string selector;
  std::string key_file;   // PEM private key, 0600 (written by `sluice dkim keygen`)
  std::string algorithm = "rsa-sha256";  // or "ed25519-sha256" (RFC 8463)
};

struct Config {
  Server server;
  std::vector<AcceptedDomain> accepted_domains;
  LocalDelivery local_delivery;
  std::vector<User> users;
  std::vector<ReceiveConnector> receive_connectors;
  DnsSettings dns;
  QueueSettings queue;
  std::vector<SendConnector> send_connectors;  // none = non-local mail waits in Unreachable
  AdminSettings admin;
  std::vector<DkimSigning> dkim;  // [[dkim]], one per signing domain and selector
  Protection protection;          // [[dnsbl]], [protection], [greylist], [[rate_limit]]
  std::string source;  // the file (or name) it was loaded from

  // Case-insensitive (RFC 5321 §2.4: domains are not case sensitive).
  bool is_accepted_domain(std::string_view domain) const;
  const ReceiveConnector* find_connector(std::string_view name) const;
  const SendConnector* find_send_connector(std::string_view name) const;
};

// The connector that serves a client of `bound`: among the connectors that list `bound`
// (the listen address as configured, port 0 included), the one whose remote_ip_ranges match
// `client` most specifically, as Exchange selects receive connectors sharing a socket.
// nullptr if none matches: the listener then closes the connection.
const ReceiveConnector* select_connector(const Config& config, const ListenAddress& bound,
                                         const IpAddress& client);

}  // namespace sluice::config
