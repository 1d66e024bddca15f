// routing/target_resolver.hpp: turns a next hop into the ordered list of hosts and addresses
// to connect to — MX routing (RFC 5321 §5.1) or a connector's smart hosts.
// Owns: MX ordering (preference, equal preferences shuffled with an injected random source),
// implicit MX (no MX record: the domain's own A/AAAA, preference 0), null MX (RFC 7505 §3,
// bounced with 5.1.10), both AAAA and A of every host (interleaved, IPv6 first, as RFC 8305
// §4 orders addresses), duplicates removed, the bound max_hosts_per_attempt, address literals
// ("[192.0.2.1]" recipients, "[ip]" smart hosts: no DNS), MX records naming this server (RFC
// 5321 §5.1: only more preferred hosts are tried; none = a loop, 5.4.6), and which DNS failure becomes which
// SMTP reply (the facts; delivery/outcome decides what the reply means for the mail).
// Not: connecting (delivery/smtp_delivery), connector selection (send_routing.hpp), DANE.
// Callback style like dns::Resolver; routing/target_resolver_awaitable.hpp adapts it for
// coroutines.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/send_connector.hpp"
#include "dns/resolver.hpp"
#include "routing/send_routing.hpp"
#include "routing/target.hpp"

namespace sluice::routing {

// The SMTP reply for a failed lookup: nxdomain/nodata -> 550 5.1.2 (permanent), servfail,
// timeout, error -> "451 4.4.3 DNS query failed: <detail>" (transient). `detail` is the
// resolver's ("SERVFAIL for mx.example.net"); `name` fills in when it is empty.
Error dns_failure(dns::Status status, std::string_view detail, std::string_view name = {});

class TargetResolver {
 public:
  // Returns a uniformly distributed 32-bit value: the only randomness here (the shuffle of
  // equal MX preferences), injected so tests see one fixed order.
  using Random = std::function<uint32_t()>;
  using Done = std::function<void(TargetList)>;

  // `resolver` must outlive every resolution started here. A resolution holds its own copy
  // of what it needs from the connector, so a config reload while it runs is harmless.
  // `local_names`: this server's own host names (lower case, e.g. [server] hostname). An MX
  // naming one of them is where the mail already is: it and every MX of equal or higher
  // preference are dropped (RFC 5321 §5.1), and nothing left means a loop (5.4.6).
  TargetResolver(dns::Resolver& resolver, Random random, std::vector<std::string> local_names = {});

  // `done` runs exactly once, on the resolver's loop (or at once, for a hop that needs no
  // DNS: an unreachable hop, address literals). An unreachable hop gets a transient error.
  void resolve(const NextHop& hop, Done done);

  // The pieces, for callers that hold no NextHop (the doctor, `sluice test`).
  void resolve_mx(std::string domain, uint16_t port, unsigned max_targets, Done done);
  void resolve_smart_hosts(std::vector<config::HostPort> hosts, uint16_t default_port, unsigned max_targets,
                           Done done);

 private:
  dns::Resolver& resolver_;
  Random random_;
  std::vector<std::string> local_names_;
};

// A Random from std::random_device-seeded mt19937, for production use.
TargetResolver::Random make_system_random();

}  // namespace sluice::routing
